import type { Sql } from '../db/client';
import { describeError, errorCode, ERROR_CATALOGUE } from '../errors';
import type { TaskLog } from '../runtime/deps';
import { applyAccountEvent, type ApplyOutcome } from '../webhooks/apply';
import { publishDueWebhookChanges, type ChangesPublisher } from '../webhooks/publish';
import { routeDelivery, targetOf } from '../webhooks/route';
import { deliveryKey } from '../webhooks/token';
import { validateDelivery } from '../webhooks/validate';

/*
 * The receiver as a pure request handler: (method, path, headers, body) in, a response out.
 * The Lambda behind the Function URL (./handler.ts) and `sender-sync webhooks serve` (node
 * http) call the same function. Answers:
 *   404  not a workspace's path with its own token (route.ts; nothing says which part is wrong),
 *        or a workspace that is gone;
 *   405  not a POST;  413  a body over 256 KiB;
 *   400  not an account event, or a value no retry makes storable (validate.ts);
 *   409  the event is not of the path's EmailBison workspace, or does not say which it is of;
 *   422  a value Postgres refuses (a data exception validation did not foresee): no retry fixes it;
 *   503  Postgres (or the webhook secret) cannot be reached: EmailBison retries, the next sync repairs;
 *   200  applied, or nothing to apply (a replay, an older event, a value already stored).
 * The event is applied before the answer, so the row is current when the 200 arrives.
 * Nothing of the path (the token) or of the body is ever logged.
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
  sql(): Promise<Sql>;
  log: TaskLog;
  /** The ChangesTopic; absent: nothing is published (pending items stay for the digest). */
  publisher?: ChangesPublisher;
  publishWindowSeconds?: number;
}

export type WebhookReceiver = (request: WebhookRequest) => Promise<WebhookResponse>;

export function createWebhookReceiver(deps: ReceiverDeps): WebhookReceiver {
  return async (request) => {
    const answer = (status: number, body: Record<string, unknown>): WebhookResponse => ({
      status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const receivedAt = new Date();
    let secret: string;
    try {
      secret = await deps.webhookSecret();
    } catch (error) {
      deps.log.error('webhook secret unavailable', { error: describeError(error) });
      return answer(503, { message: 'Service Unavailable' });
    }
    const target = targetOf(request.path, secret);
    if (!target) return answer(404, { message: 'Not Found' });
    if (request.method.toUpperCase() !== 'POST') return answer(405, { message: 'Method Not Allowed' });

    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    if (body.length > MAX_BODY_BYTES) {
      deps.log.warn('webhook delivery refused: body too large', { bytes: body.length, limit: MAX_BODY_BYTES });
      return answer(413, { message: `Payload Too Large (limit ${MAX_BODY_BYTES} bytes)` });
    }
    const key = deliveryKey(body);
    const validated = validateDelivery(body, target, { receivedAt });
    if (!validated.ok) {
      // The reason says what is wrong with the delivery; the body itself is never logged.
      const refusal = validated.status === 400 ? 'malformed' : "another workspace's event";
      deps.log.warn(`webhook delivery refused: ${refusal}`, { reason: validated.reason, deliveryKey: key, bytes: body.length });
      return answer(validated.status, { message: validated.reason });
    }
    const event = validated.event;

    try {
      const sql = await deps.sql();
      const routed = await routeDelivery(sql, target, event);
      if (!routed.found) {
        deps.log.warn('webhook delivery not routed', {
          problem: routed.problem,
          reason: routed.reason,
          type: event.type,
          deliveryKey: key,
        });
        const status = routed.problem === 'unknown' ? 404 : 409;
        return answer(status, { message: routed.reason });
      }
      const applied: ApplyOutcome = await applyAccountEvent(sql, routed.workspaceId, key, event);
      const fields = {
        type: event.type,
        workspaceId: routed.workspaceId,
        workspace: routed.workspace,
        emailbisonId: event.senderEmail?.id,
        deliveryKey: key,
        ...applied,
      };
      deps.log.info('webhook delivery', fields);
      if (deps.publisher) await publishQuietly(sql, deps);
      return answer(200, { ok: true, ...applied });
    } catch (error) {
      const unavailable = isUnavailable(error);
      deps.log.error(unavailable ? 'webhook delivery not applied: Postgres unavailable' : 'webhook delivery failed', {
        error: describeError(error),
        type: event.type,
        deliveryKey: key,
      });
      if (unavailable) return answer(503, { message: 'Service Unavailable' });
      // Postgres refused a value (22xxx data exception, 23xxx constraint) that validation let through: no retry stores it.
      if (/^2[23]/.test(errorCode(error) ?? '')) return answer(422, { message: 'The delivery holds a value Postgres cannot store.' });
      return answer(500, { message: 'Internal Server Error' });
    }
  };
}

/** A publish that fails leaves the items pending (publish.ts); the delivery is applied and answered all the same. */
async function publishQuietly(sql: Sql, deps: ReceiverDeps): Promise<void> {
  try {
    const published = await publishDueWebhookChanges(sql, deps.publisher!, { windowSeconds: deps.publishWindowSeconds });
    if (published.messages > 0) deps.log.info('webhook changes published', published);
  } catch (error) {
    deps.log.error('webhook changes not published (they stay pending)', { error: describeError(error) });
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '3D000', // invalid_catalog_name: the database is not there (yet)
  ERROR_CATALOGUE.DatabaseUnavailableError.code,
  ERROR_CATALOGUE.NotConfiguredError.code,
  ERROR_CATALOGUE.SecretUnavailableError.code,
]);

function isUnavailable(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith('08'));
}
