import type { Sql } from '../db/client';
import { describeError, errorCode, ERROR_CATALOGUE } from '../errors';
import type { TaskLog } from '../runtime/deps';
import { applyAccountEvent, type ApplyOutcome } from '../webhooks/apply';
import { parseAccountEvent, type AccountEvent } from '../webhooks/event';
import { publishDueWebhookChanges, type ChangesPublisher } from '../webhooks/publish';
import { routeDelivery } from '../webhooks/route';
import { deliveryKey, tokenDigest, tokenMatches } from '../webhooks/token';

/*
 * The receiver as a pure request handler: (method, path, headers, body) in, a response out.
 * The Lambda behind the Function URL (./handler.ts) and `sender-sync webhooks serve` (node
 * http) call the same function. Answers:
 *   404  wrong or missing token, or any other path (nothing says which);
 *   405  not a POST;  413  a body over 256 KiB;  400  not JSON, or not an account event;
 *   409  the path's workspace reads another EmailBison workspace than the event's;
 *   422  a bare-path delivery no registered workspace matches;
 *   503  Postgres (or the token secret) cannot be reached: EmailBison retries, the next sync repairs;
 *   200  applied, or nothing to apply (a replay, an older event, a value already stored).
 * The event is applied before the answer, so the row is current when the 200 arrives.
 * Nothing of the path (the token) or of the body is ever logged.
 */

export const MAX_BODY_BYTES = 256 * 1024;
const PATH = /^\/emailbison\/([^/]+)(?:\/([^/]+))?\/?$/;

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
  /** The deployment's token (Secrets Manager, or the local secrets file for `webhooks serve`). */
  token(): Promise<string>;
  sql(): Promise<Sql>;
  log: TaskLog;
  /** The ChangesTopic; absent: nothing is published (pending items stay for the digest). */
  publisher?: ChangesPublisher;
  publishWindowSeconds?: number;
}

export type WebhookReceiver = (request: WebhookRequest) => Promise<WebhookResponse>;

export function createWebhookReceiver(deps: ReceiverDeps): WebhookReceiver {
  let digest: { token: string; value: Buffer } | undefined;
  const expectedDigest = async () => {
    const token = await deps.token();
    if (digest?.token !== token) digest = { token, value: tokenDigest(token) };
    return digest.value;
  };

  return async (request) => {
    const answer = (status: number, body: Record<string, unknown>): WebhookResponse => ({
      status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const match = PATH.exec(request.path.split('?')[0]);
    let expected: Buffer;
    try {
      expected = await expectedDigest();
    } catch (error) {
      deps.log.error('webhook token unavailable', { error: describeError(error) });
      return answer(503, { message: 'Service Unavailable' });
    }
    // Compared even when the path does not match, so the answer takes as long either way.
    const tokenOk = tokenMatches(match ? safeDecode(match[1]) : '', expected);
    if (!match || !tokenOk) return answer(404, { message: 'Not Found' });
    const pathWorkspaceId = match[2] === undefined ? undefined : positiveId(match[2]);
    if (pathWorkspaceId === null) return answer(404, { message: 'Not Found' });
    if (request.method.toUpperCase() !== 'POST') return answer(405, { message: 'Method Not Allowed' });

    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    if (body.length > MAX_BODY_BYTES) {
      deps.log.warn('webhook delivery refused: body too large', { bytes: body.length, limit: MAX_BODY_BYTES });
      return answer(413, { message: `Payload Too Large (limit ${MAX_BODY_BYTES} bytes)` });
    }
    const key = deliveryKey(body);
    let event: AccountEvent;
    try {
      event = parseAccountEvent(body.toString('utf8'));
    } catch (error) {
      // The error says what is wrong with the shape; the body itself is never logged.
      deps.log.warn('webhook delivery refused: malformed', { error: describeError(error), deliveryKey: key, bytes: body.length });
      return answer(400, { message: error instanceof Error ? error.message : 'Bad Request' });
    }

    try {
      const sql = await deps.sql();
      const routed = await routeDelivery(sql, pathWorkspaceId, event);
      if (!routed.found) {
        deps.log.warn('webhook delivery not routed', {
          problem: routed.problem,
          reason: routed.reason,
          type: event.type,
          deliveryKey: key,
        });
        const status = routed.problem === 'unknown' ? 404 : routed.problem === 'mismatch' ? 409 : 422;
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
      return unavailable ? answer(503, { message: 'Service Unavailable' }) : answer(500, { message: 'Internal Server Error' });
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

function positiveId(text: string): number | null {
  if (!/^\d{1,9}$/.test(text)) return null;
  const id = Number(text);
  return id > 0 ? id : null;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}
