import { describeError, errorCode, ERROR_CATALOGUE } from '../errors';
import type { TaskLog } from '../runtime/deps';
import type { IntakeQueue } from '../webhooks/intake';
import { targetOf } from '../webhooks/route';
import { deliveryKey, type DeliveryTarget } from '../webhooks/token';
import { validateDelivery, type Validated } from '../webhooks/validate';

/*
 * The receiver as a pure request handler: (method, path, headers, body) in, a response out.
 * Storage first: it checks the path's token, validates the delivery, puts it on the intake
 * queue and answers; it opens no database connection and holds no database secret. The
 * applier (lambdas/webhook-applier) applies what is queued. The Lambda behind the Function
 * URL (./handler.ts, SQS) and `sender-sync webhooks serve` (node http, an in-process bounded
 * queue) call the same function. Answers:
 *   404  not a workspace's path with its own token (route.ts; nothing says which part is wrong);
 *   405  not a POST;  413  a body over 256 KiB;
 *   400  not an account event, or a value no retry makes storable (validate.ts);
 *   409  the event is not of the path's EmailBison workspace, or does not say which it is of;
 *   503  the webhook secret or the queue cannot be reached, or the local queue is full
 *        (Retry-After): EmailBison retries;
 *   200  accepted: stored in the queue, to be applied (not yet applied).
 * Every 4xx is answered before anything is queued: poison never reaches the applier. What
 * only Postgres can tell (the workspace gone, its key now another EmailBison workspace's,
 * a value it refuses) the applier logs and drops. Nothing of the path (the token) or of
 * the body is ever logged.
 */

export const MAX_BODY_BYTES = 256 * 1024;

export interface WebhookRequest {
  method: string;
  path: string;
  headers?: Record<string, string | undefined>;
  body: Buffer | string;
}

export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ReceiverDeps {
  /** The deployment's webhook master secret (its own Secrets Manager secret, or the local file for `webhooks serve`). */
  webhookSecret(): Promise<string>;
  /** Where an accepted delivery goes: SQS on AWS, the local bounded queue in `webhooks serve`. */
  queue: IntakeQueue;
  log: TaskLog;
  now?: () => number;
}

export type WebhookReceiver = (request: WebhookRequest) => Promise<WebhookResponse>;

type TokenCheck = { ok: true; target: DeliveryTarget } | { ok: false; status: 404 | 503 };

export function createWebhookReceiver(deps: ReceiverDeps): WebhookReceiver {
  const now = deps.now ?? Date.now;

  /** The one call point for "check token": the workspace the path's token opens. */
  const checkToken = async (path: string): Promise<TokenCheck> => {
    let secret: string;
    try {
      secret = await deps.webhookSecret();
    } catch (error) {
      deps.log.error('webhook secret unavailable', { error: describeError(error) });
      return { ok: false, status: 503 };
    }
    const target = targetOf(path, secret);
    return target ? { ok: true, target } : { ok: false, status: 404 };
  };

  return async (request) => {
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): WebhookResponse => ({
      status,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const receivedAt = new Date(now());
    const token = await checkToken(request.path);
    if (!token.ok) return token.status === 404 ? answer(404, { message: 'Not Found' }) : answer(503, { message: 'Service Unavailable' });
    if (request.method.toUpperCase() !== 'POST') return answer(405, { message: 'Method Not Allowed' });

    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    if (body.length > MAX_BODY_BYTES) {
      deps.log.warn('webhook delivery refused: body too large', { bytes: body.length, limit: MAX_BODY_BYTES });
      return answer(413, { message: `Payload Too Large (limit ${MAX_BODY_BYTES} bytes)` });
    }
    const validated: Validated = validateDelivery(body, token.target, { receivedAt });
    if (!validated.ok) {
      // The reason says what is wrong with the delivery; the body itself is never logged.
      const refusal = validated.status === 400 ? 'malformed' : "another workspace's event";
      deps.log.warn(`webhook delivery refused: ${refusal}`, {
        reason: validated.reason,
        deliveryKey: deliveryKey(body),
        bytes: body.length,
      });
      return answer(validated.status, { message: validated.reason });
    }

    try {
      await deps.queue.send({ kind: 'delivery', target: token.target, body: body.toString('utf8'), receivedAt: receivedAt.toISOString() });
    } catch (error) {
      const retryAfterSeconds =
        errorCode(error) === ERROR_CATALOGUE.IntakeUnavailableError.code ? (error as { retryAfterSeconds: number }).retryAfterSeconds : 5;
      deps.log.error('webhook delivery not accepted: the intake queue is unavailable', {
        error: describeError(error),
        type: validated.event.type,
      });
      return answer(503, { message: 'Service Unavailable' }, { 'retry-after': String(retryAfterSeconds) });
    }
    return answer(200, { ok: true, accepted: true });
  };
}
