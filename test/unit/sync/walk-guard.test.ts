import { describe, expect, it } from 'vitest';
import type { SenderEmail, SenderEmailPage } from '../../../lambdas/emailbison/client';
import { parseSenderEmail } from '../../../lambdas/emailbison/schema';
import { type CycleState, WalkGuard } from '../../../lambdas/sync/walk-guard';

function account(id: number): SenderEmail {
  const parsed = parseSenderEmail({ id, email: `sender${id}@example.com` }, 0);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.item;
}

/** A cursor page of `ids`, pointing at `next` (null: the last page). */
function cursorPage(place: number, ids: number[], next: string | null): SenderEmailPage {
  return {
    kind: 'page',
    mode: 'cursor',
    page: place,
    lastPage: null,
    total: null,
    next: next === null ? null : { mode: 'cursor', token: next },
    items: ids.map(account),
    skipped: [],
    fetchedAtMs: 0,
  };
}

/** Walks a chain of cursors (`chain[i]` is page i+1's next cursor) until the guard stops it; returns pages read and the error. */
function walkChain(guard: WalkGuard, chain: (place: number) => string | null, pageIds: (place: number) => number[], maxPages = 10_000) {
  for (let place = 1; place <= maxPages; place++) {
    const next = chain(place);
    try {
      guard.observe(cursorPage(place, pageIds(place), next));
    } catch (error) {
      return { pages: place, error: error as Error & { code?: string } };
    }
    if (next === null) return { pages: place, error: undefined };
  }
  return { pages: maxPages, error: undefined };
}

const fifteenNew = (place: number) => Array.from({ length: 15 }, (_, i) => place * 15 + i);

describe('WalkGuard', () => {
  it('lets a real walk end: 7,000 pages of new accounts', () => {
    const guard = new WalkGuard('Acme', 20);
    const { pages, error } = walkChain(guard, (place) => (place < 7_000 ? `c${place}` : null), fifteenNew);
    expect(error).toBeUndefined();
    expect(pages).toBe(7_000);
  });

  for (const [length, start] of [
    [1, 1],
    [2, 1],
    [5, 1],
    [5, 40],
    [300, 3],
  ] as const) {
    it(`fails a cursor cycle of length ${length} (entered at page ${start}) within a few laps, naming the cursor and the length`, () => {
      const guard = new WalkGuard('Acme', 1_000_000); // the cycle rule alone
      // Cursors c1, c2, ...; from page `start + length` on, they go round c(start) .. c(start + length - 1).
      const cursor = (place: number) => `c${place < start + length ? place : start + ((place - start) % length)}`;
      const { pages, error } = walkChain(guard, cursor, fifteenNew);
      expect(error).toMatchObject({ name: 'EndlessWalkError', code: 'SS_EMAILBISON_ENDLESS_WALK', workspace: 'Acme' });
      expect(error!.message).toMatch(new RegExp(`cursor cycle: cursor "c\\d+" returned again after ${length} page\\(s\\)`));
      expect(pages).toBeLessThanOrEqual(2 * (start + length) + length + 2);
    });
  }

  it('keeps its cycle memory across a resume: a cycle longer than one invocation reads is caught', () => {
    const length = 900;
    const cursor = (place: number) => `c${place <= length ? place : ((place - 1) % length) + 1}`;
    let saved: CycleState | undefined;
    let read = 0;
    // Invocations of 250 pages each, every one resuming from the state the last one saved.
    for (let invocation = 0; invocation < 20; invocation++) {
      const guard = new WalkGuard('Acme', 1_000_000, saved);
      const { pages, error } = walkChain(
        guard,
        (place) => cursor(read + place),
        (place) => fifteenNew(read + place),
        250,
      );
      read += pages;
      if (error) {
        expect(error.message).toContain(`returned again after ${length} page(s)`);
        expect(read).toBeLessThan(4 * length);
        return;
      }
      saved = guard.cycleState;
    }
    throw new Error('the cycle was never caught');
  });

  it('fails pages that bring no new account, EMAILBISON_MAX_STALE_PAGES in a row', () => {
    const guard = new WalkGuard('Acme', 20);
    const { pages, error } = walkChain(
      guard,
      (place) => `fresh-${place}`,
      (place) => (place <= 3 ? fifteenNew(place) : [45, 46]),
    );
    expect(error!.message).toMatch(
      /20 pages in a row \(to page 23\) brought no account it had not seen already \(EMAILBISON_MAX_STALE_PAGES=20\)/,
    );
    expect(pages).toBe(23);
  });

  it('fails more pages than the accounts seen fill: one new account now and then among stale pages', () => {
    const guard = new WalkGuard('Acme', 20);
    // Every 10th page brings one new account: never 20 stale in a row, but 10 pages an account.
    const { pages, error } = walkChain(
      guard,
      (place) => `fresh-${place}`,
      (place) => (place % 10 === 0 ? [place] : [10]),
    );
    expect(error!.message).toMatch(/EmailBison served \d+ pages but only \d+ distinct accounts/);
    expect(pages).toBeLessThan(40);
  });

  it('starts afresh on a restart in another mode: the accounts of the first walk are not stale in the second', () => {
    const guard = new WalkGuard('Acme', 5);
    walkChain(guard, (place) => (place < 10 ? `a${place}` : null), fifteenNew);
    guard.reset();
    const { error } = walkChain(guard, (place) => (place < 10 ? `a${place}` : null), fifteenNew);
    expect(error).toBeUndefined();
  });
});
