import type { ClientStats, SenderEmail, SenderEmailPage } from '../emailbison/client';
import type { UpsertResult } from './upsert';

/** Where a walk resumes: the next page to fetch (pages are numbered from 1). */
export type WalkCursor = number;

/** A walk as polling_job_workspaces saved it at its last checkpoint. */
export interface SavedWalk {
  cursor: WalkCursor | null;
  totals_seen: number[];
  last_page: number | null;
}

/** What one checkpoint adds to the workspace's row. */
export interface Checkpoint {
  /** The next page to fetch; null once the walk is complete. */
  cursor: WalkCursor | null;
  lastPage: number;
  totalsSeen: number[];
  /** Rows written since the last saved checkpoint. */
  accountsWritten: number;
  warnings: string[];
  /** What the client did since the last saved checkpoint. */
  stats: Omit<ClientStats, 'items'>;
}

/**
 * One walk of a workspace's pages within one invocation: what has been read, what is
 * waiting to be written, and what the next checkpoint must record. Invariants: the
 * cursor only ever moves past pages whose accounts were handed out by `takeBatch`, and
 * counts and stats since the last saved checkpoint are kept until `saved` is called, so
 * a checkpoint that fails to save is recorded in full by the next one.
 */
export class WalkState {
  readonly totalsSeen: Set<number>;
  lastPage: number;
  cursor: WalkCursor;
  /** Accounts read by this invocation, for progress. */
  accountsRead = 0;
  private batch: SenderEmail[] = [];
  private skippedIds: number[] = [];
  private warnings: string[] = [];
  private unsavedWritten = 0;
  private statsAtSave: ClientStats;

  constructor(saved: SavedWalk, stats: ClientStats) {
    this.totalsSeen = new Set(saved.totals_seen);
    this.lastPage = saved.last_page ?? 0;
    this.cursor = saved.cursor ?? 1;
    this.statsAtSave = { ...stats };
  }

  /** Takes in one page: its accounts join the batch, its invalid items become warnings. */
  readPage(page: SenderEmailPage): void {
    this.totalsSeen.add(page.total);
    this.lastPage = Math.max(this.lastPage, page.lastPage);
    this.batch.push(...page.items);
    this.accountsRead += page.items.length;
    for (const skipped of page.skipped) {
      this.warnings.push(`skipped an invalid item on page ${skipped.page}: ${skipped.reason}`);
      // An invalid item's id still counts as seen, so it is not marked removed.
      if (typeof skipped.id === 'number' && Number.isSafeInteger(skipped.id)) this.skippedIds.push(skipped.id);
    }
    this.cursor = page.page + 1;
  }

  get batchLength(): number {
    return this.batch.length;
  }

  /** Hands out the accounts (and ids seen but not written) read since the last call. */
  takeBatch(): { accounts: SenderEmail[]; alsoSeenIds: number[] } {
    const taken = { accounts: this.batch, alsoSeenIds: this.skippedIds };
    this.batch = [];
    this.skippedIds = [];
    return taken;
  }

  /** Whether pages remain after the cursor, as far as the pages read so far said. */
  hasPagesLeft(): boolean {
    return this.cursor <= this.lastPage;
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
      lastPage: this.lastPage,
      totalsSeen: [...this.totalsSeen],
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

  /** The checkpoint is stored: counts restart from here. */
  saved(stats: ClientStats): void {
    this.unsavedWritten = 0;
    this.statsAtSave = { ...stats };
  }
}
