import { EndlessWalkError } from '../errors';
import type { SenderEmailPage } from '../emailbison/client';

/*
 * A walk of a workspace's pages must end. EmailBison decides where the next page is (a cursor
 * it hands out, links.next), so a loop upstream would keep a walk going until the execution's
 * 2-hour timeout, holding a sync slot every run (issue 22: cursors A -> B -> A made 174
 * requests in 60 s and went on). Three rules, each failing the workspace with EndlessWalkError
 * (never retried: a retry walks the same loop; nothing is marked removed, as the walk never
 * completes):
 *
 * 1. A cursor seen before in the walk: Brent's cycle detection over the cursors EmailBison
 *    hands out. O(1) memory (one cursor, two counters) whatever the cycle's length, and small
 *    enough to be saved with every checkpoint (polling_job_workspaces.walk_cycle, migration
 *    017), so it survives the walk resuming in another invocation: a cycle longer than what
 *    one invocation reads is caught all the same. It finds a cycle of length L within about
 *    2 x (pages before the cycle + L) pages, and names L exactly.
 * 2. Pages that bring no account the walk has not seen, `maxStalePages` in a row.
 * 3. More pages than the accounts seen allow: every page of a real walk brings at least one
 *    account it had not seen, give or take accounts shifting while it reads, so pages beyond
 *    distinct accounts + `maxStalePages` are a loop that rule 2 missed (a page of one new
 *    account now and then among stale ones).
 * Rules 2 and 3 count within one invocation: the accounts seen are a Set of ids, which a resume
 * starts afresh (a few MB at 100,000 accounts, and only what one invocation read). A loop of
 * pages is caught within any invocation that reads more than the loop, and a cursor loop by
 * rule 1 across invocations; page mode has no loop rule 1 could see, but its walk is bounded
 * by meta.last_page, and beyond it it goes on only while pages bring items (client.ts).
 */

/** Brent's state: the cursor the walk compares with, and where the next comparison stands. */
export interface CycleState {
  /** The cursor compared against (null: the top of a cursor walk). */
  tortoise: string | null;
  /** Pages between moves of the tortoise: 1, 2, 4, ... */
  power: number;
  /** Pages since the tortoise last moved. */
  lam: number;
}

export function freshCycleState(): CycleState {
  return { tortoise: null, power: 1, lam: 0 };
}

export class WalkGuard {
  private cycle: CycleState;
  private readonly seenIds = new Set<number>();
  private pages = 0;
  private stalePages = 0;

  constructor(
    private readonly workspace: string,
    private readonly maxStalePages: number,
    saved?: CycleState | null,
  ) {
    this.cycle = isCycleState(saved) ? { ...saved } : freshCycleState();
  }

  /** What a checkpoint saves: where the cycle detection stands. */
  get cycleState(): CycleState {
    return { ...this.cycle };
  }

  /** The walk starts again from the top (another mode): nothing it saw counts. */
  reset(): void {
    this.cycle = freshCycleState();
    this.seenIds.clear();
    this.pages = 0;
    this.stalePages = 0;
  }

  /** Takes in one page as it was read; throws EndlessWalkError when the walk goes nowhere. */
  observe(page: SenderEmailPage): void {
    this.pages += 1;
    const before = this.seenIds.size;
    for (const item of page.items) this.seenIds.add(item.id);
    for (const skipped of page.skipped) if (typeof skipped.id === 'number') this.seenIds.add(skipped.id);
    this.stalePages = this.seenIds.size > before ? 0 : this.stalePages + 1;
    if (page.next?.mode === 'cursor' && page.next.token !== null) this.nextCursor(page.next.token);
    if (this.stalePages >= this.maxStalePages) {
      this.fail(
        `${this.stalePages} pages in a row (to page ${page.page}) brought no account it had not seen already ` +
          `(EMAILBISON_MAX_STALE_PAGES=${this.maxStalePages})`,
      );
    }
    if (this.pages > this.seenIds.size + this.maxStalePages) {
      this.fail(
        `EmailBison served ${this.pages} pages but only ${this.seenIds.size} distinct accounts, more pages than those accounts fill`,
      );
    }
  }

  /** Brent's step: the hare is the walk itself, one cursor a page. */
  private nextCursor(token: string): void {
    const cycle = this.cycle;
    cycle.lam += 1;
    if (token === cycle.tortoise) {
      this.fail(`cursor cycle: cursor ${shortToken(token)} returned again after ${cycle.lam} page(s)`);
    }
    if (cycle.lam === cycle.power) {
      cycle.tortoise = token;
      cycle.power *= 2;
      cycle.lam = 0;
    }
  }

  private fail(what: string): never {
    throw new EndlessWalkError({ workspace: this.workspace, what, pages: this.pages });
  }
}

/** EmailBison's cursor is base64 of an id (not a secret), and can be 1 KB: enough of it to recognise. */
function shortToken(token: string): string {
  return token.length > 40 ? `"${token.slice(0, 40)}…"` : `"${token}"`;
}

function isCycleState(value: unknown): value is CycleState {
  const state = value as CycleState | null | undefined;
  return (
    typeof state === 'object' &&
    state !== null &&
    (state.tortoise === null || typeof state.tortoise === 'string') &&
    Number.isInteger(state.power) &&
    state.power >= 1 &&
    Number.isInteger(state.lam) &&
    state.lam >= 0
  );
}
