import { describe, expect, it } from 'vitest';
import type { RawSenderEmail } from '../../../sim/data';
import { FixedWindowLimiter } from '../../../sim/limiter';
import { answerMode, cursorBody, cursorPageOrdinal, decodeCursor, encodeCursor } from '../../../sim/pagination';

const PATH = 'http://sim/api/sender-emails';
const accounts = (ids: number[]) => ids.map((id) => ({ id }) as RawSenderEmail);
const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => from + index);

describe('Laravel cursors, as the simulator mints and reads them', () => {
  it('encodes {"id":N,"_pointsToNextItems":bool} as URL-safe base64 without padding, as Cursor::encode() does', () => {
    expect(encodeCursor({ id: 1, pointsToNextItems: true })).toBe('eyJpZCI6MSwiX3BvaW50c1RvTmV4dEl0ZW1zIjp0cnVlfQ');
    const encodings = range(1, 5000).map((id) => encodeCursor({ id, pointsToNextItems: id % 2 === 0 }));
    expect(encodings.filter((text) => /[+/=]/.test(text))).toEqual([]);
    expect(range(1, 5000).every((id, index) => decodeCursor(encodings[index])?.id === id)).toBe(true);
  });

  it('reads URL-safe, padded and standard base64, and no cursor from anything else', () => {
    const standard = Buffer.from('{"id":"42","_pointsToNextItems":false}').toString('base64');
    const withExtras = Buffer.from('{"id":7,"_pointsToNextItems":true,"x":"???>>>"}').toString('base64');
    const urlSafe = withExtras.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');

    expect(withExtras).toMatch(/[+/]/);
    expect(decodeCursor(urlSafe)).toEqual({ id: 7, pointsToNextItems: true });

    expect(decodeCursor(standard)).toEqual({ id: 42, pointsToNextItems: false });
    expect(decodeCursor('not a cursor')).toBeUndefined();
    expect(decodeCursor(Buffer.from('{"id":1}').toString('base64'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('"oops"').toString('base64'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('{"_pointsToNextItems":true}').toString('base64'))).toBeUndefined();
  });
});

describe('cursor pages', () => {
  const rows = accounts(range(100, 40)); // ids 100..139

  it("walks by id downward, 15 a page, with Laravel's next/prev cursors and links that carry only the cursor", () => {
    const first = cursorBody(rows, undefined, PATH);
    const second = cursorBody(rows, decodeCursor(first.meta.next_cursor!), PATH);
    const third = cursorBody(rows, decodeCursor(second.meta.next_cursor!), PATH);

    expect(first.data.map((row) => row.id)).toEqual(range(125, 15).reverse());
    expect(first.meta).toEqual({
      path: PATH,
      per_page: 15,
      next_cursor: encodeCursor({ id: 125, pointsToNextItems: true }),
      prev_cursor: null,
    });
    expect(first.links).toEqual({ first: null, last: null, prev: null, next: `${PATH}?cursor=${first.meta.next_cursor}` });
    expect(second.data.map((row) => row.id)).toEqual(range(110, 15).reverse());
    expect(second.meta.prev_cursor).toBe(encodeCursor({ id: 124, pointsToNextItems: false }));
    expect(third.data.map((row) => row.id)).toEqual(range(100, 10).reverse());
    expect(third.meta.next_cursor).toBeNull();
    expect(third.links.next).toBeNull();
  });

  it('goes back with a prev cursor to exactly the page before', () => {
    const first = cursorBody(rows, undefined, PATH);
    const second = cursorBody(rows, decodeCursor(first.meta.next_cursor!), PATH);
    const back = cursorBody(rows, decodeCursor(second.meta.prev_cursor!), PATH);

    expect(back.data).toEqual(first.data);
    expect(back.meta.prev_cursor).toBeNull();
    expect(back.meta.next_cursor).toBe(first.meta.next_cursor);
  });

  it('answers an empty list, and a cursor past the end, with no cursors at all', () => {
    expect(cursorBody([], undefined, PATH).meta).toMatchObject({ next_cursor: null, prev_cursor: null });
    expect(cursorBody(rows, { id: 100, pointsToNextItems: true }, PATH)).toMatchObject({
      data: [],
      meta: { next_cursor: null, prev_cursor: null },
    });
  });

  it("numbers cursor pages from the top, even when the cursor's own account is gone", () => {
    const second = decodeCursor(cursorBody(rows, undefined, PATH).meta.next_cursor!);
    const withoutIt = accounts(range(100, 40).filter((id) => id !== second!.id));

    expect(cursorPageOrdinal(rows, undefined)).toBe(1);
    expect(cursorPageOrdinal(rows, second)).toBe(2);
    expect(cursorPageOrdinal(withoutIt, second)).toBe(2);
  });
});

describe('which mode an answer is in', () => {
  const q = (text: string) => new URLSearchParams(text);

  it('page: pages unless pagination_type=cursor; page-only: always pages', () => {
    expect(answerMode('page', q(''))).toBe('page');
    expect(answerMode('page', q('pagination_type=cursor'))).toBe('cursor');
    expect(answerMode('page-only', q('pagination_type=cursor'))).toBe('page');
  });

  it('cursor-default: cursors unless an explicit page is asked for, and pagination_type=cursor wins', () => {
    expect(answerMode('cursor-default', q(''))).toBe('cursor');
    expect(answerMode('cursor-default', q('cursor=abc'))).toBe('cursor');
    expect(answerMode('cursor-default', q('page=3'))).toBe('page');
    expect(answerMode('cursor-default', q('page=3&pagination_type=cursor'))).toBe('cursor');
  });

  it('cursor-only: cursors whatever is asked', () => {
    expect(answerMode('cursor-only', q('page=2'))).toBe('cursor');
  });
});

describe("the instance limiter (fixed window, as Laravel's)", () => {
  it('allows N per window, refuses the rest without counting them, and opens a new window at the first hit after it ends', () => {
    let now = 10_000;
    const limiter = new FixedWindowLimiter({ requests: 2, windowSeconds: 3 }, () => now);

    expect(limiter.attempt()).toEqual({ allowed: true, limit: 2, remaining: 1 });
    now += 500;
    expect(limiter.attempt()).toEqual({ allowed: true, limit: 2, remaining: 0 });
    now += 1_000;
    expect(limiter.attempt()).toMatchObject({ allowed: false, retryAfterSeconds: 2, resetAtSeconds: 13 });
    now += 1_499;
    expect(limiter.attempt()).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    now += 1;
    expect(limiter.attempt()).toEqual({ allowed: true, limit: 2, remaining: 1 });
    now += 10_000;
    expect(limiter.attempt()).toEqual({ allowed: true, limit: 2, remaining: 1 });
  });

  it('refuses a limit that could never allow a request', () => {
    expect(() => new FixedWindowLimiter({ requests: 0, windowSeconds: 1 }, Date.now)).toThrow(/requests/);
    expect(() => new FixedWindowLimiter({ requests: 1, windowSeconds: 0 }, Date.now)).toThrow(/windowSeconds/);
  });
});
