import type { Sql } from '../../lambdas/db/client';
import type { TaskLog } from '../../lambdas/runtime/deps';
import { silentLog } from '../../lambdas/runtime/deps';
import type { DeliveryOutcome } from '../../lambdas/webhook-applier/apply-batch';
import { createWebhookApplier } from '../../lambdas/webhook-applier/applier';
import { createWebhookReceiver, type WebhookRequest, type WebhookResponse } from '../../lambdas/webhook-receiver/receive';
import { encodeIntakeMessage, type QueuedDelivery } from '../../lambdas/webhooks/intake';
import type { ChangesPublisher, DigestTiming } from '../../lambdas/webhooks/publish';

/**
 * The receiver and the applier as deployed, with a queue the test settles: each request is
 * answered by the real receiver, and what it accepted is then applied by the real applier
 * (one batch), so a test sees the account's row and what the applier made of the delivery
 * (`applied`: applied, unchanged, replayed, stale, ignored, refused ...).
 */
export function createSettledReceiver(
  sql: Sql,
  options: {
    webhookSecret: string;
    log?: TaskLog;
    publisher?: ChangesPublisher;
    timing?: DigestTiming;
    /** Sees each delivery the receiver queued (what reached the queue, before the applier). */
    onQueued?: (message: QueuedDelivery) => void;
  },
): (request: WebhookRequest) => Promise<WebhookResponse & { applied?: DeliveryOutcome }> {
  const log = options.log ?? silentLog;
  const queued: QueuedDelivery[] = [];
  const receive = createWebhookReceiver({
    webhookSecret: async () => options.webhookSecret,
    queue: {
      async send(message) {
        if (message.kind !== 'delivery') return;
        options.onQueued?.(message);
        queued.push(message);
      },
    },
    log,
  });
  const apply = createWebhookApplier({ sql, log, publisher: options.publisher, timing: options.timing });
  return async (request) => {
    const answer = await receive(request);
    const batch = queued.splice(0);
    if (batch.length === 0) return answer;
    const outcome = await apply(batch.map((message, i) => ({ id: String(i), body: encodeIntakeMessage(message) })));
    const applied = Object.keys(outcome.tally).find((key) => key !== 'tick') as DeliveryOutcome | undefined;
    return { ...answer, applied };
  };
}
