import { describe, expect, it } from 'vitest';
import type { ClientStats, SenderEmail, SenderEmailPage } from '../../../lambdas/emailbison/client';
import { parseSenderEmail } from '../../../lambdas/emailbison/schema';
import { WalkState } from '../../../lambdas/sync/walk-state';

function account(id: number): SenderEmail {
  const parsed = parseSenderEmail({ id, email: `sender${id}@example.com` }, 0);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.item;
}

function page(number: number, fields: Partial<SenderEmailPage> = {}): SenderEmailPage {
  const next = { mode: 'page' as const, page: number + 1 };
  return {
    kind: 'page',
    mode: 'page',
    page: number,
    lastPage: 3,
    total: 45,
    next,
    items: [account(number * 100), account(number * 100 + 1)],
    skipped: [],
    fetchedAtMs: 1_000 * number,
    ...fields,
  };
}

function stats(fields: Partial<ClientStats> = {}): ClientStats {
  return { requests: 0, retries: 0, pages: 0, items: 0, skippedItems: 0, rateLimitWaitMs: 0, ...fields };
}

const fresh = { cursor: null, totals_seen: [], last_page: null };

describe('WalkState', () => {
  it('starts a fresh walk at page 1 and resumes a saved one at its cursor', () => {
    expect(new WalkState(fresh, stats()).cursor).toEqual({ mode: 'page', page: 1 });
    const resumed = new WalkState({ cursor: 4, totals_seen: [45], last_page: 9 }, stats());
    expect([resumed.cursor, resumed.lastPage, [...resumed.totalsSeen]]).toEqual([{ mode: 'page', page: 4 }, 9, [45]]);
  });

  it('moves the cursor past each page read and keeps the highest last page and every total', () => {
    const walk = new WalkState(fresh, stats());
    walk.readPage(page(1, { lastPage: 3, total: 45 }));
    walk.readPage(page(2, { lastPage: 2, total: 44 }));
    expect([walk.cursor, walk.lastPage, [...walk.totalsSeen], walk.accountsRead]).toEqual([{ mode: 'page', page: 3 }, 3, [45, 44], 4]);
    expect(walk.hasPagesLeft()).toBe(true);
    walk.readPage(page(3, { next: null }));
    expect(walk.hasPagesLeft()).toBe(false);
  });

  it('hands out the accounts read since the last batch once, with the ids of invalid items as seen', () => {
    const walk = new WalkState(fresh, stats());
    walk.readPage(
      page(1, {
        skipped: [
          { page: 1, id: 7, reason: 'email is missing' },
          { page: 1, id: '8', reason: 'id is not an integer' },
        ],
      }),
    );
    expect(walk.batchLength).toBe(2);
    const batch = walk.takeBatch();
    expect(batch.accounts.map((a) => a.id)).toEqual([100, 101]);
    expect(batch.alsoSeenIds).toEqual([7]);
    expect(walk.batchLength).toBe(0);
    expect(walk.takeBatch()).toEqual({ accounts: [], alsoSeenIds: [] });
  });

  it('dates a batch by its earliest page fetch, so a webhook change after any of its pages is newer', () => {
    const walk = new WalkState(fresh, stats());
    walk.readPage(page(2, { fetchedAtMs: 5_000 }));
    walk.readPage(page(3, { fetchedAtMs: 4_000 }));
    expect(walk.takeBatch().fetchedAtMs).toBe(4_000);
    walk.readPage(page(4, { fetchedAtMs: 9_000 }));
    expect(walk.takeBatch().fetchedAtMs).toBe(9_000);
  });

  it('records in a checkpoint what changed since the last saved one', () => {
    const walk = new WalkState(fresh, stats({ pages: 5, requests: 6, rateLimitWaitMs: 100 }));
    walk.readPage(page(1, { skipped: [{ page: 1, id: 7, reason: 'email is missing' }] }));
    walk.recordWritten({ inserted: 2, updated: 1 });
    const first = walk.checkpoint({ mode: 'page', page: 2 }, stats({ pages: 6, requests: 8, retries: 1, rateLimitWaitMs: 350.5 }));
    expect(first).toEqual({
      cursor: { mode: 'page', page: 2 },
      mode: 'page',
      lastPage: 3,
      totalsSeen: [45],
      walkPages: 1,
      walkItems: 3,
      walkMixed: false,
      walkCycle: null,
      accountsWritten: 3,
      warnings: ['skipped an invalid item on page 1: email is missing'],
      stats: { pages: 1, requests: 2, retries: 1, skippedItems: 0, rateLimitWaitMs: 250.5 },
    });
  });

  it('keeps counts and stats for the next checkpoint when one was not saved, but hands out warnings once', () => {
    const walk = new WalkState(fresh, stats());
    walk.readPage(page(1, { skipped: [{ page: 1, id: 7, reason: 'email is missing' }] }));
    walk.recordWritten({ inserted: 2, updated: 0 });
    walk.checkpoint({ mode: 'page', page: 2 }, stats({ pages: 1 }));
    walk.recordWritten({ inserted: 0, updated: 1 });
    const retried = walk.checkpoint({ mode: 'page', page: 2 }, stats({ pages: 1 }));
    expect(retried).toMatchObject({ accountsWritten: 3, warnings: [], stats: { pages: 1 } });

    walk.saved(stats({ pages: 1 }));
    expect(walk.checkpoint(null, stats({ pages: 2 }))).toMatchObject({ cursor: null, accountsWritten: 0, stats: { pages: 1 } });
  });
});

describe('WalkState in cursor mode', () => {
  const cursorPage = (n: number, next: string | null): SenderEmailPage => ({
    fetchedAtMs: 1_000 * n,
    kind: 'page',
    mode: 'cursor',
    page: n,
    lastPage: null,
    total: null,
    next: next === null ? null : { mode: 'cursor', token: next },
    items: [account(n * 100)],
    skipped: [],
  });

  it('starts a fresh walk in the given mode and resumes a saved cursor walk at its token', () => {
    expect(new WalkState(fresh, stats(), 'cursor').cursor).toEqual({ mode: 'cursor', token: null });
    const resumed = new WalkState(
      { ...fresh, walk_mode: 'cursor', cursor_token: 'eyJpZCI6MTB9', walk_pages: 4, walk_items: 60 },
      stats(),
      'page',
    );
    expect([resumed.cursor, resumed.walkPages, resumed.walkItems]).toEqual([{ mode: 'cursor', token: 'eyJpZCI6MTB9' }, 4, 60]);
  });

  it('follows next_cursor and knows the walk is complete when it is null', () => {
    const walk = new WalkState(fresh, stats(), 'cursor');
    walk.readPage(cursorPage(1, 'abc'));
    expect([walk.cursor, walk.hasPagesLeft()]).toEqual([{ mode: 'cursor', token: 'abc' }, true]);
    walk.readPage(cursorPage(2, null));
    expect(walk.hasPagesLeft()).toBe(false);
    expect([...walk.totalsSeen]).toEqual([]);
  });

  it('marks a walk mixed when it restarts after reading pages, but not when it restarts before any', () => {
    const early = new WalkState(fresh, stats(), 'page');
    early.restart('cursor', 'EmailBison answered page 1 in cursor pagination');
    expect([early.mixed, early.cursor]).toEqual([false, { mode: 'cursor', token: null }]);

    const late = new WalkState(fresh, stats(), 'page');
    late.readPage(page(1));
    late.restart('cursor', 'EmailBison refused page 2 past its page-depth cap (HTTP 422)');
    expect([late.mixed, late.walkPages, late.walkItems, [...late.totalsSeen]]).toEqual([true, 0, 0, []]);
    expect(late.checkpoint(late.cursor, stats()).warnings).toEqual([
      'restarted the walk in cursor pagination after 1 page(s): EmailBison refused page 2 past its page-depth cap (HTTP 422); nothing is marked removed on the evidence of a walk that mixed modes',
    ]);
  });
});
