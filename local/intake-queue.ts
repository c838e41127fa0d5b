import { randomUUID } from 'node:crypto';
import type { BatchItem } from '../lambdas/webhook-applier/apply-batch';
import type { WebhookApplier } from '../lambdas/webhook-applier/applier';
import { describeError, IntakeUnavailableError } from '../lambdas/errors';
import type { TaskLog } from '../lambdas/runtime/deps';
import { encodeIntakeMessage, type IntakeQueue } from '../lambdas/webhooks/intake';

/*
 * The intake queue of `webhooks serve`, in process: what SQS and the event source mapping
 * are on AWS. The receiver's send() holds a delivery in memory and resolves at once; a few
 * workers take batches and apply them through the applier, each batch one transaction, so
 * the Postgres connections are bounded by the workers whatever the burst.
 *
 * Bounded memory: past maxQueued deliveries or maxQueuedBytes, send() refuses
 * (IntakeUnavailableError: the receiver answers 503 with Retry-After) and nothing already
 * accepted is dropped. A delivery the applier reports failed is queued again, after a
 * pause that doubles up to 30 s. drain() waits until every accepted delivery was applied
 * (or refused by the applier as no retry can fix).
 */

export interface LocalIntakeOptions {
  log: TaskLog;
  /** Batches applied at once (each holds one Postgres connection while it runs). Default 2. */
  workers?: number;
  /** Deliveries per batch. Default 100. */
  batchSize?: number;
  maxQueued?: number;
  maxQueuedBytes?: number;
}

export interface LocalIntake {
  queue: IntakeQueue;
  /** Resolves when nothing is queued, nothing is being applied and no retry waits. */
  drain(): Promise<void>;
  /** Stops the workers and the tick timers (call after drain()). */
  close(): Promise<void>;
  stats(): { queued: number; applying: number; accepted: number; refusedFull: number; retried: number };
}

export const DEFAULT_MAX_QUEUED = 20_000;
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const MAX_RETRY_DELAY_MS = 30_000;

export function startLocalIntake(applier: WebhookApplier, options: LocalIntakeOptions): LocalIntake {
  const workers = options.workers ?? 2;
  const batchSize = options.batchSize ?? 100;
  const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  const items: (BatchItem & { bytes: number; attempts: number })[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let queuedBytes = 0;
  let applying = 0;
  let waitingRetries = 0;
  let accepted = 0;
  let refusedFull = 0;
  let retried = 0;
  let closed = false;
  const sleepers: (() => void)[] = [];
  const idleWaiters: (() => void)[] = [];

  const notify = () => {
    for (const wake of sleepers.splice(0)) wake();
  };
  const checkIdle = () => {
    if (items.length === 0 && applying === 0 && waitingRetries === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  };
  const push = (item: BatchItem & { attempts: number }) => {
    const bytes = item.body.length;
    items.push({ ...item, bytes });
    queuedBytes += bytes;
    notify();
  };

  const work = async () => {
    while (!closed) {
      if (items.length === 0) {
        await new Promise<void>((resolve) => sleepers.push(resolve));
        continue;
      }
      const batch = items.splice(0, batchSize);
      for (const item of batch) queuedBytes -= item.bytes;
      applying += 1;
      try {
        let failed: Set<string>;
        try {
          failed = new Set((await applier(batch)).failed);
        } catch (error) {
          options.log.error('webhook batch failed: every delivery is retried', { error: describeError(error), deliveries: batch.length });
          failed = new Set(batch.map((item) => item.id));
        }
        for (const item of batch.filter((candidate) => failed.has(candidate.id))) {
          retried += 1;
          waitingRetries += 1;
          const timer = setTimeout(
            () => {
              timers.delete(timer);
              waitingRetries -= 1;
              push({ ...item, attempts: item.attempts + 1 });
            },
            Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** item.attempts),
          );
          timers.add(timer);
        }
      } finally {
        applying -= 1;
        checkIdle();
      }
    }
  };
  const running = Array.from({ length: workers }, () => work());

  return {
    queue: {
      async send(message, sendOptions = {}) {
        if (message.kind === 'tick') {
          // A digest falls due later: a tick queued then (not counted against the bounds; at most a few wait).
          const timer = setTimeout(
            () => {
              timers.delete(timer);
              push({ id: randomUUID(), body: encodeIntakeMessage(message), attempts: 0 });
            },
            (sendOptions.delaySeconds ?? 0) * 1000,
          );
          timer.unref();
          timers.add(timer);
          return;
        }
        const body = encodeIntakeMessage(message);
        if (items.length >= maxQueued || queuedBytes + body.length > maxQueuedBytes) {
          refusedFull += 1;
          throw new IntakeUnavailableError(`The local intake queue is full (${items.length} deliveries waiting).`, {
            retryAfterSeconds: 5,
          });
        }
        accepted += 1;
        push({ id: randomUUID(), body, attempts: 0 });
      },
    },
    drain() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      notify();
      await Promise.all(running);
    },
    stats: () => ({ queued: items.length, applying, accepted, refusedFull, retried }),
  };
}
