import type { Sql } from '../db/client';
import { describeError, errorCode } from '../errors';
import type { TaskLog } from '../runtime/deps';
import { applyAccountEventIn, type ApplyOutcome } from '../webhooks/apply';
import type { AccountEvent } from '../webhooks/event';
import { decodeIntakeMessage } from '../webhooks/intake';
import { markDigestDue, type DigestTiming } from '../webhooks/publish';
import { routeDelivery, type Routed } from '../webhooks/route';
import { deliveryKey, type DeliveryTarget } from '../webhooks/token';
import { validateDelivery } from '../webhooks/validate';

/*
 * Applies a batch of queued deliveries (an SQS batch, or what `webhooks serve` holds) in
 * one transaction, one savepoint per delivery, so a delivery that fails rolls back alone
 * and is reported for a retry while the others commit. Locks are taken in one order in
 * every batch (account rows by workspace and EmailBison id, then each workspace's digest
 * row), so two appliers never deadlock on each other; deliveries of one account keep
 * their arrival order. When the transaction itself fails (Postgres gone), every delivery
 * of the batch is reported for a retry and nothing was applied.
 *
 * Not retried, because no retry can fix them (logged, dropped, never reported failed):
 * a message that is not ours; a body that no longer validates (validateDelivery, as the
 * receiver ran it, with the arrival time it recorded); a delivery routeDelivery refuses
 * (the workspace gone or inactive, or its key now another EmailBison workspace's: what the
 * receiver, without a database, could not know); a value Postgres refuses (SQLSTATE class
 * 22, data exception, or 23, integrity constraint, but for a unique key's race with a
 * sync) that validation let through.
 * Everything else that fails is retried by the queue, and after its last attempt lands
 * in the dead-letter queue, whose alarm pages someone.
 */

/** One message of the intake queue: its id (SQS messageId) and body. */
export interface BatchItem {
  id: string;
  body: string;
}

export type DeliveryOutcome = ApplyOutcome['outcome'] | 'refused' | 'dropped' | 'tick' | 'failed';

export interface BatchOutcome {
  /** Ids of the items to be delivered again (SQS batchItemFailures). */
  failed: string[];
  tally: Partial<Record<DeliveryOutcome, number>>;
  /** Digests this batch made due: the caller schedules a tick for each, after the commit. */
  dueAt: { workspaceId: number; at: Date }[];
  /** Workspaces whose digest tick this batch carried. */
  ticks: number[];
}

interface Parsed {
  id: string;
  key: string;
  event: AccountEvent;
  target: DeliveryTarget;
  workspaceId?: number;
  accountId: number;
}

export async function applyBatch(sql: Sql, items: BatchItem[], options: { log: TaskLog; timing?: DigestTiming }): Promise<BatchOutcome> {
  const { log } = options;
  const tally: BatchOutcome['tally'] = {};
  const count = (outcome: DeliveryOutcome, n = 1) => {
    tally[outcome] = (tally[outcome] ?? 0) + n;
  };
  const parsed: Parsed[] = [];
  const ticks: number[] = [];
  for (const item of items) {
    const message = decodeIntakeMessage(item.body);
    if (!message) {
      log.error('intake message dropped: not a queued delivery', { messageId: item.id, bytes: item.body.length });
      count('dropped');
      continue;
    }
    if (message.kind === 'tick') {
      count('tick');
      ticks.push(message.workspaceId);
      continue;
    }
    const key = deliveryKey(Buffer.from(message.body, 'utf8'));
    const validated = validateDelivery(message.body, message.target, { receivedAt: new Date(message.receivedAt) });
    if (!validated.ok) {
      log.error('webhook delivery dropped: it no longer validates', {
        status: validated.status,
        reason: validated.reason,
        deliveryKey: key,
      });
      count('dropped');
      continue;
    }
    const event = validated.event;
    parsed.push({ id: item.id, key, event, target: message.target, accountId: event.senderEmail?.id ?? 0 });
  }
  if (parsed.length === 0) return { failed: [], tally, dueAt: [], ticks };

  let result: Attempt;
  try {
    // Fast path: no savepoints. A delivery that fails aborts the attempt, and the batch is
    // applied again with one savepoint per delivery, so only that one is retried.
    result = await attempt(sql, parsed, { ...options, savepoints: false }).catch((error: unknown) => {
      if (!(error instanceof DeliveryFailed)) throw error;
      return attempt(sql, parsed, { ...options, savepoints: true });
    });
  } catch (error) {
    log.error('webhook batch not applied: every delivery is retried', { error: describeError(error), deliveries: parsed.length });
    return { failed: parsed.map((delivery) => delivery.id), tally: { ...tally, failed: parsed.length }, dueAt: [], ticks };
  }
  const { failed, applied, dueAt } = result;
  for (const [outcome, n] of Object.entries(applied)) count(outcome as DeliveryOutcome, n);
  if (failed.length > 0) count('failed', failed.length);
  return { failed: [...failed], tally, dueAt, ticks };
}

interface Attempt {
  failed: string[];
  applied: Partial<Record<DeliveryOutcome, number>>;
  dueAt: BatchOutcome['dueAt'];
}

/** A delivery failed in an attempt without savepoints: the transaction is spoiled, the batch is tried again with them. */
class DeliveryFailed extends Error {}

async function attempt(
  sql: Sql,
  parsed: Parsed[],
  options: { log: TaskLog; timing?: DigestTiming; savepoints: boolean },
): Promise<Attempt> {
  const { log } = options;
  return sql.begin(async (transaction) => {
    const tx = transaction as unknown as Sql & { savepoint<T>(work: (sp: Sql) => Promise<T>): Promise<T> };
    const applied: Attempt['applied'] = {};
    const failed: string[] = [];
    const routes = new Map<string, Routed>();
    const routed: Parsed[] = [];
    for (const delivery of parsed) {
      // Validated, the event is of its target's EmailBison workspace: one target routes every delivery alike, looked up once a batch.
      const target = `${delivery.target.workspaceId}:${delivery.target.emailbisonWorkspaceId}`;
      const route = routes.get(target) ?? (await routeDelivery(tx, delivery.target, delivery.event));
      routes.set(target, route);
      if (route.found) routed.push({ ...delivery, workspaceId: route.workspaceId });
      else {
        log.warn('webhook delivery refused', {
          problem: route.problem,
          reason: route.reason,
          type: delivery.event.type,
          deliveryKey: delivery.key,
        });
        applied.refused = (applied.refused ?? 0) + 1;
      }
    }
    // Array.prototype.sort is stable: one account's deliveries keep their order.
    routed.sort((a, b) => a.workspaceId! - b.workspaceId! || a.accountId - b.accountId);
    const firstPublishable = new Map<number, number>();
    for (const delivery of routed) {
      const apply = (on: Sql) => applyAccountEventIn(on, delivery.workspaceId!, delivery.key, delivery.event);
      let outcome: ApplyOutcome;
      try {
        outcome = options.savepoints ? await tx.savepoint(apply) : await apply(tx);
      } catch (error) {
        if (!options.savepoints) throw new DeliveryFailed('a delivery failed', { cause: error });
        if (refusedByPostgres(error)) {
          log.error('webhook delivery dropped: Postgres refuses a value of it (no retry stores it)', {
            error: describeError(error),
            type: delivery.event.type,
            deliveryKey: delivery.key,
          });
          applied.dropped = (applied.dropped ?? 0) + 1;
          continue;
        }
        log.error('webhook delivery not applied (retried)', {
          error: describeError(error),
          type: delivery.event.type,
          deliveryKey: delivery.key,
        });
        failed.push(delivery.id);
        continue;
      }
      applied[outcome.outcome] = (applied[outcome.outcome] ?? 0) + 1;
      if (outcome.outcome === 'applied' && outcome.publishable && outcome.changeId !== undefined) {
        const first = firstPublishable.get(delivery.workspaceId!);
        if (first === undefined || outcome.changeId < first) firstPublishable.set(delivery.workspaceId!, outcome.changeId);
      }
    }
    const dueAt: BatchOutcome['dueAt'] = [];
    for (const [workspaceId, changeId] of [...firstPublishable].sort(([a], [b]) => a - b)) {
      const at = await markDigestDue(tx, workspaceId, changeId, options.timing);
      if (at) dueAt.push({ workspaceId, at });
    }
    return { failed, applied, dueAt };
  });
}

/**
 * A data exception (22xxx) or an integrity constraint violation (23xxx): the same value
 * fails every time. Not a unique or exclusion violation (23505, 23P01): a sync inserting
 * the same account at that moment causes one, and a retry finds its row.
 */
function refusedByPostgres(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return /^2[23][0-9A-Z]{3}$/.test(code) && code !== '23505' && code !== '23P01';
}
