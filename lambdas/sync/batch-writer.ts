import type { Sql } from '../db/client';
import type { SenderEmail } from '../emailbison/client';
import { buildBatchText } from './batch-text';
import { type UpsertResult, type UpsertTarget, writeBatchText } from './upsert';

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

  async write(accounts: SenderEmail[], alsoSeenIds: number[] = []): Promise<void> {
    if (accounts.length === 0 && alsoSeenIds.length === 0) return;
    const text = await buildBatchText(accounts, alsoSeenIds);
    await this.settled();
    // Handled here, so a failure waiting for the next call is never an unhandled rejection.
    this.inFlight = writeBatchText(this.sql, this.target, text).then(
      (result) => {
        this.totals.inserted += result.inserted;
        this.totals.updated += result.updated;
      },
      (error: unknown) => {
        this.failure = { error };
      },
    );
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
