import type { ClientStats, SenderEmail, SenderEmailPage, WalkCursor } from '../emailbison/client';
import type { UpsertResult } from './upsert';
import { type CycleState, WalkGuard } from './walk-guard';

export type { WalkCursor } from '../emailbison/client';
export type WalkMode = WalkCursor['mode'];

/** A walk as polling_job_workspaces saved it at its last checkpoint. */
export interface SavedWalk {
  /** Page mode: the next page to fetch. */
  cursor: number | null;
  /** Cursor mode: the next cursor (null with walk_mode 'cursor': the top). */
  cursor_token?: string | null;
  /** Null until a walk has saved a checkpoint: a fresh walk. */
  walk_mode?: WalkMode | null;
  totals_seen: number[];
  last_page: number | null;
  walk_pages?: number;
  walk_items?: number;
  walk_mixed?: boolean;
  /** Cursor mode: where the cycle detection stood (walk-guard.ts). */
  walk_cycle?: CycleState | null;
}

/** What one checkpoint adds to the workspace's row. */
export interface Checkpoint {
  /** Where the walk goes on; null once the walk is complete. */
  cursor: WalkCursor | null;
  mode: WalkMode;
  lastPage: number;
  totalsSeen: number[];
  walkPages: number;
  walkItems: number;
  walkMixed: boolean;
  /** Cursor mode: where the cycle detection stands; null in page mode. */
  walkCycle: CycleState | null;
  /** Rows written since the last saved checkpoint. */
  accountsWritten: number;
  warnings: string[];
  /** What the client did since the last saved checkpoint. */
  stats: Omit<ClientStats, 'items'>;
}

export function walkStart(mode: WalkMode): WalkCursor {
  return mode === 'page' ? { mode: 'page', page: 1 } : { mode: 'cursor', token: null };
}

/**
 * One walk of a workspace's pages within one invocation: what has been read, what is
 * waiting to be written, and what the next checkpoint must record. Invariants: the
 * cursor only ever moves past pages whose accounts were handed out by `takeBatch`, and
 * counts and stats since the last saved checkpoint are kept until `saved` is called, so
 * a checkpoint that fails to save is recorded in full by the next one.
 */
export class WalkState {
  totalsSeen: Set<number>;
  lastPage: number;
  cursor: WalkCursor;
  /** Pages and items (valid or invalid with an id) of the walk so far, across invocations. */
  walkPages: number;
  walkItems: number;
  /** The walk restarted in another mode after reading pages. */
  mixed: boolean;
  /** Accounts read by this invocation, for progress. */
  accountsRead = 0;
  private pagesLeft = true;
  private batch: SenderEmail[] = [];
  /** When the earliest page of the batch was fetched (epoch ms): the batch is no newer than that. */
  private batchFetchedAtMs: number | undefined;
  private skippedIds: number[] = [];
  private warnings: string[] = [];
  private unsavedWritten = 0;
  private statsAtSave: ClientStats;
  /** Fails the walk that would not end (walk-guard.ts). */
  private readonly guard: WalkGuard;

  /**
   * `startMode`: where a fresh walk starts; a saved walk resumes in its own mode. `guard`: the
   * workspace's name and EMAILBISON_MAX_STALE_PAGES, for the rules that end a walk.
   */
  constructor(
    saved: SavedWalk,
    stats: ClientStats,
    startMode: WalkMode = 'page',
    guard: { workspace: string; maxStalePages: number } = { workspace: '(unnamed)', maxStalePages: 20 },
  ) {
    this.totalsSeen = new Set(saved.totals_seen);
    this.lastPage = saved.last_page ?? 0;
    this.cursor = savedCursor(saved) ?? walkStart(startMode);
    this.walkPages = saved.walk_pages ?? 0;
    this.walkItems = saved.walk_items ?? 0;
    this.mixed = saved.walk_mixed ?? false;
    this.statsAtSave = { ...stats };
    this.guard = new WalkGuard(guard.workspace, guard.maxStalePages, this.cursor.mode === 'cursor' ? saved.walk_cycle : null);
  }

  get mode(): WalkMode {
    return this.cursor.mode;
  }

  /** Takes in one page: its accounts join the batch, its invalid items become warnings. */
  readPage(page: SenderEmailPage): void {
    if (page.total !== null) this.totalsSeen.add(page.total);
    if (page.lastPage !== null) this.lastPage = Math.max(this.lastPage, page.lastPage);
    this.batch.push(...page.items);
    this.batchFetchedAtMs = Math.min(this.batchFetchedAtMs ?? page.fetchedAtMs, page.fetchedAtMs);
    this.accountsRead += page.items.length;
    this.walkPages += 1;
    this.walkItems += page.items.length;
    for (const skipped of page.skipped) {
      this.warnings.push(`skipped an invalid item on page ${skipped.page}: ${skipped.reason}`);
      // An invalid item's id still counts as seen, so it is not marked removed.
      if (typeof skipped.id === 'number' && Number.isSafeInteger(skipped.id)) {
        this.skippedIds.push(skipped.id);
        this.walkItems += 1;
      }
    }
    this.pagesLeft = page.next !== null;
    // Page mode keeps counting past the last page, as a finished page walk always has.
    this.cursor = page.next ?? (page.mode === 'page' ? { mode: 'page', page: page.page + 1 } : { mode: 'cursor', token: null });
    // Last: the page's accounts are real and are written all the same when the walk fails here.
    this.guard.observe(page);
  }

  /**
   * The walk starts again from the top in `mode`. If it had read pages, it is mixed from
   * now on: what was read stays written, but the walk removes nothing.
   */
  restart(mode: WalkMode, reason: string): void {
    if (this.walkPages > 0) this.mixed = true;
    this.warnings.push(
      this.walkPages > 0
        ? `restarted the walk in ${mode} pagination after ${this.walkPages} page(s): ${reason}; nothing is marked removed on the evidence of a walk that mixed modes`
        : `reading in ${mode} pagination: ${reason}`,
    );
    this.cursor = walkStart(mode);
    this.guard.reset();
    this.totalsSeen = new Set();
    this.lastPage = 0;
    this.walkPages = 0;
    this.walkItems = 0;
    this.pagesLeft = true;
  }

  get batchLength(): number {
    return this.batch.length;
  }

  /**
   * Hands out the accounts (and ids seen but not written) read since the last call, and
   * when the earliest of their pages was fetched.
   */
  takeBatch(): { accounts: SenderEmail[]; alsoSeenIds: number[]; fetchedAtMs?: number } {
    const taken = { accounts: this.batch, alsoSeenIds: this.skippedIds, fetchedAtMs: this.batchFetchedAtMs };
    this.batch = [];
    this.skippedIds = [];
    this.batchFetchedAtMs = undefined;
    return taken;
  }

  /** Whether pages remain after the cursor, as far as the pages read so far said. */
  hasPagesLeft(): boolean {
    return this.pagesLeft;
  }

  recordWritten(result: UpsertResult): void {
    this.unsavedWritten += result.inserted + result.updated;
  }

  /**
   * What the next save records. Warnings are handed out once: a save that fails loses
   * them, where counts and stats wait for the next save.
   */
  checkpoint(cursor: WalkCursor | null, stats: ClientStats): Checkpoint {
    const before = this.statsAtSave;
    return {
      cursor,
      mode: this.mode,
      lastPage: this.lastPage,
      totalsSeen: [...this.totalsSeen],
      walkPages: this.walkPages,
      walkItems: this.walkItems,
      walkMixed: this.mixed,
      walkCycle: this.mode === 'cursor' ? this.guard.cycleState : null,
      accountsWritten: this.unsavedWritten,
      warnings: this.warnings.splice(0),
      stats: {
        pages: stats.pages - before.pages,
        requests: stats.requests - before.requests,
        retries: stats.retries - before.retries,
        skippedItems: stats.skippedItems - before.skippedItems,
        rateLimitWaitMs: stats.rateLimitWaitMs - before.rateLimitWaitMs,
      },
    };
  }

  /**
   * A checkpoint handed to a write that goes on while the walk does: counts restart from
   * here at once. If that write fails, its counts go with it (the invocation fails, and
   * the retry reads those pages again and counts them).
   */
  take(cursor: WalkCursor | null, stats: ClientStats): Checkpoint {
    const checkpoint = this.checkpoint(cursor, stats);
    this.saved(stats);
    return checkpoint;
  }

  /** The checkpoint is stored: counts restart from here. */
  saved(stats: ClientStats): void {
    this.unsavedWritten = 0;
    this.statsAtSave = { ...stats };
  }
}

/** A row saved before walk_mode existed holds a page in `cursor`: page mode. */
export function savedCursor(saved: SavedWalk): WalkCursor | undefined {
  if (saved.walk_mode === 'cursor') return { mode: 'cursor', token: saved.cursor_token ?? null };
  if (saved.walk_mode === 'page' || saved.cursor !== null) return { mode: 'page', page: saved.cursor ?? 1 };
  return undefined;
}

/** For a person: "page 11", or "a cursor" (the token is EmailBison's and says nothing to a reader). */
export function describeWalkCursor(cursor: WalkCursor): string {
  if (cursor.mode === 'page') return `page ${cursor.page}`;
  return cursor.token === null ? 'the top (cursor pagination)' : 'a saved cursor (cursor pagination)';
}
