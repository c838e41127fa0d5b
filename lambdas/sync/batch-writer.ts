import type { Sql } from '../db/client';
import type { SenderEmail } from '../emailbison/client';
import { buildBatchText } from './batch-text';
import { type UpsertResult, type UpsertTarget, writeBatchText } from './upsert';

/** Runs in a batch's transaction, after its upsert. */
export type BatchSave = (tx: Sql, written: UpsertResult) => Promise<void>;

/**
 * Writes a workspace's batches in order, one statement at a time, while the caller goes
 * on: `write` builds the batch's text while the previous statement runs, then waits for
 * it, sends this one and returns without waiting for it. Batches reach Postgres one
 * after another on one connection, in the order given, so where an account is in two
 * batches the later copy wins.
 *
 * A failed write is thrown by the next `write` or `drain`, and every later batch is
 * refused: nothing is written after a batch that was not, so a cursor saved after a
 * successful `drain` never skips unwritten accounts.
 */
export class BatchWriter {
  private inFlight: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private totals: UpsertResult = { inserted: 0, updated: 0 };

  constructor(
    private readonly sql: Sql,
    private readonly target: UpsertTarget,
  ) {}

  /**
   * `save`, when given, runs in the batch's transaction after the upsert, with what it
   * wrote: the cursor saved with the batch it moves past (and the checks that may refuse
   * both). An empty batch runs `save` alone. `fetchedAtMs`: when the batch's earliest page
   * was fetched (a newer webhook change is kept: upsert.ts).
   */
  async write(accounts: SenderEmail[], alsoSeenIds: number[] = [], save?: BatchSave, fetchedAtMs?: number): Promise<void> {
    if (accounts.length === 0 && alsoSeenIds.length === 0) {
      if (save) await this.after((sql) => save(sql, { inserted: 0, updated: 0 }));
      return;
    }
    const text = await buildBatchText(accounts, alsoSeenIds, fetchedAtMs);
    await this.settled();
    const writing = save
      ? this.sql.begin(async (tx) => {
          const written = await writeBatchText(tx as unknown as Sql, this.target, text);
          await save(tx as unknown as Sql, written);
          return written;
        })
      : writeBatchText(this.sql, this.target, text);
    // Handled here, so a failure waiting for the next call is never an unhandled rejection.
    this.inFlight = (writing as Promise<UpsertResult>).then(
      (result) => {
        this.totals.inserted += result.inserted;
        this.totals.updated += result.updated;
      },
      (error: unknown) => {
        this.failure = { error };
      },
    );
  }

  /** Runs `statement` once every batch before it is written (throwing a failed write instead). */
  async after<T>(statement: (sql: Sql) => Promise<T>): Promise<T> {
    await this.settled();
    return statement(this.sql);
  }

  /** Waits for the write in flight; returns what was written since the last drain. */
  async drain(): Promise<UpsertResult> {
    await this.settled();
    const totals = this.totals;
    this.totals = { inserted: 0, updated: 0 };
    return totals;
  }

  private async settled(): Promise<void> {
    await this.inFlight;
    if (this.failure) throw this.failure.error;
  }
}
