import type { Sql } from '../db/client';
import { describeError } from '../errors';
import type { TaskLog } from '../runtime/deps';
import { digestDueLater, publishDueWebhookChanges, type ChangesPublisher, type DigestTiming } from '../webhooks/publish';
import { applyBatch, type BatchItem, type BatchOutcome } from './apply-batch';

/*
 * The applier: a batch applied (apply-batch.ts) and committed, then the digest step, which
 * holds no transaction while it publishes (lambdas/webhooks/publish.ts), then a tick
 * scheduled for each digest that fell due later. The Lambda (./handler.ts, fed by SQS) and
 * `webhooks serve` (local/intake-queue.ts) call the same function.
 */

export interface ApplierDeps {
  sql: Sql;
  log: TaskLog;
  /** The ChangesTopic; absent: no digest is sent here (Finalize job's run digest names the changes). */
  publisher?: ChangesPublisher;
  timing?: DigestTiming;
  /** Wakes the applier in `delaySeconds` (a delayed SQS message, a timer): the workspace's digest falls due then. */
  scheduleTick?(workspaceId: number, delaySeconds: number): Promise<void>;
  now?: () => number;
}

export type WebhookApplier = (items: BatchItem[]) => Promise<BatchOutcome>;

/** SQS delays a message at most 15 minutes. */
const MAX_TICK_DELAY_SECONDS = 900;

export function createWebhookApplier(deps: ApplierDeps): WebhookApplier {
  const now = deps.now ?? Date.now;
  return async (items) => {
    const outcome = await applyBatch(deps.sql, items, { log: deps.log, timing: deps.timing });
    deps.log.info('webhook batch', { messages: items.length, ...outcome.tally });
    if (!deps.publisher) return outcome;
    const due = [...outcome.dueAt];
    try {
      const step = await publishDueWebhookChanges(deps.sql, deps.publisher, deps.timing);
      due.push(...step.dueAt);
      if (step.messages > 0) deps.log.info('webhook changes published', { messages: step.messages, items: step.items, bytes: step.bytes });
      for (const { workspace, error } of step.errors) {
        deps.log.error('webhook changes not published (they stay pending, due again in a minute)', {
          workspace,
          error: describeError(error),
        });
      }
      // A tick that came before its digest's time (more changes moved it): the next tick, for the new time.
      for (const workspaceId of new Set(outcome.ticks)) {
        const at = await digestDueLater(deps.sql, workspaceId);
        if (at) due.push({ workspaceId, at });
      }
    } catch (error) {
      deps.log.error('webhook digest step failed (the changes stay pending)', { error: describeError(error) });
    }
    if (deps.scheduleTick) {
      const ticks = new Map(due.map(({ workspaceId, at }) => [workspaceId, at]));
      for (const [workspaceId, at] of ticks) {
        const delaySeconds = Math.min(MAX_TICK_DELAY_SECONDS, Math.max(0, Math.ceil((at.getTime() - now()) / 1000)));
        await deps
          .scheduleTick(workspaceId, delaySeconds)
          .catch((error: unknown) =>
            deps.log.warn('digest tick not scheduled (the next delivery or run sends the digest)', { error: describeError(error) }),
          );
      }
    }
    return outcome;
  };
}
