import { describeError, errorCode, ERROR_CATALOGUE } from '../errors';
import type { TaskLog } from '../runtime/deps';
import { parseAccountEvent, type AccountEvent } from '../webhooks/event';
import type { IntakeQueue } from '../webhooks/intake';
import { deliveryKey, tokenDigest, tokenMatches } from '../webhooks/token';

/*
 * The receiver as a pure request handler: (method, path, headers, body) in, a response out.
 * Storage first: it checks the path's token, validates the delivery, puts it on the intake
 * queue and answers; it opens no database connection and holds no database secret. The
 * applier (lambdas/webhook-applier) applies what is queued. The Lambda behind the Function
 * URL (./handler.ts, SQS) and `sender-sync webhooks serve` (node http, an in-process bounded
 * queue) call the same function. Answers:
 *   404  wrong or missing token, or any other path (nothing says which);
 *   405  not a POST;  413  a body over 256 KiB;  400  not JSON, or not an account event;
 *   503  the token secret or the queue cannot be reached, or the local queue is full
 *        (Retry-After): EmailBison retries;
 *   200  accepted: stored in the queue, to be applied (not yet applied).
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
  /** Where an accepted delivery goes: SQS on AWS, the local bounded queue in `webhooks serve`. */
  queue: IntakeQueue;
  log: TaskLog;
  now?: () => number;
}

export type WebhookReceiver = (request: WebhookRequest) => Promise<WebhookResponse>;

type TokenCheck = { ok: true; workspaceId: number | null } | { ok: false; status: 404 | 503 };

export function createWebhookReceiver(deps: ReceiverDeps): WebhookReceiver {
  const now = deps.now ?? Date.now;
  let digest: { token: string; value: Buffer } | undefined;
  const expectedDigest = async () => {
    const token = await deps.token();
    if (digest?.token !== token) digest = { token, value: tokenDigest(token) };
    return digest.value;
  };

  /** The one call point for "check token" (the path's token, and the workspace it opens). */
  const checkToken = async (path: string): Promise<TokenCheck> => {
    const match = PATH.exec(path.split('?')[0]);
    let expected: Buffer;
    try {
      expected = await expectedDigest();
    } catch (error) {
      deps.log.error('webhook token unavailable', { error: describeError(error) });
      return { ok: false, status: 503 };
    }
    // Compared even when the path does not match, so the answer takes as long either way.
    const tokenOk = tokenMatches(match ? safeDecode(match[1]) : '', expected);
    if (!match || !tokenOk) return { ok: false, status: 404 };
    const workspaceId = match[2] === undefined ? null : positiveId(match[2]);
    return workspaceId === undefined ? { ok: false, status: 404 } : { ok: true, workspaceId };
  };

  return async (request) => {
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): WebhookResponse => ({
      status,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const token = await checkToken(request.path);
    if (!token.ok) return token.status === 404 ? answer(404, { message: 'Not Found' }) : answer(503, { message: 'Service Unavailable' });
    if (request.method.toUpperCase() !== 'POST') return answer(405, { message: 'Method Not Allowed' });

    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    if (body.length > MAX_BODY_BYTES) {
      deps.log.warn('webhook delivery refused: body too large', { bytes: body.length, limit: MAX_BODY_BYTES });
      return answer(413, { message: `Payload Too Large (limit ${MAX_BODY_BYTES} bytes)` });
    }
    const text = body.toString('utf8');
    let event: AccountEvent;
    try {
      event = validateDelivery(text);
    } catch (error) {
      // The error says what is wrong with the shape; the body itself is never logged.
      deps.log.warn('webhook delivery refused: malformed', {
        error: describeError(error),
        deliveryKey: deliveryKey(body),
        bytes: body.length,
      });
      return answer(400, { message: error instanceof Error ? error.message : 'Bad Request' });
    }

    try {
      await deps.queue.send({ kind: 'delivery', workspaceId: token.workspaceId, body: text, receivedAt: new Date(now()).toISOString() });
    } catch (error) {
      const retryAfterSeconds =
        errorCode(error) === ERROR_CATALOGUE.IntakeUnavailableError.code ? (error as { retryAfterSeconds: number }).retryAfterSeconds : 5;
      deps.log.error('webhook delivery not accepted: the intake queue is unavailable', { error: describeError(error), type: event.type });
      return answer(503, { message: 'Service Unavailable' }, { 'retry-after': String(retryAfterSeconds) });
    }
    return answer(200, { ok: true, accepted: true });
  };
}

/** The one call point for "validate": shape and size of an account event, before anything is queued. */
function validateDelivery(body: string): AccountEvent {
  return parseAccountEvent(body);
}

/** A path's workspace id: undefined when it is not one (answered 404). */
function positiveId(text: string): number | undefined {
  if (!/^\d{1,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id > 0 ? id : undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}
