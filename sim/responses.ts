import type { ServerResponse } from 'node:http';
import type { SimWorkspace } from './data';
import type { FaultResponse } from './faults';
import type { PageCapAnswer } from './options';
import { hex, randomFor } from './random';

/** EmailBison's answers other than a page, each as the instance sends it. */

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendRateLimitedFault(
  res: ServerResponse,
  response: Extract<FaultResponse, { kind: 'rateLimited' }>,
  headers: Record<string, string>,
): void {
  const seconds = response.retryAfterSeconds;
  if (seconds === null) {
    send(res, 429, { message: 'Too Many Attempts.' }, headers);
    return;
  }
  if (response.inBody) {
    send(res, 429, { error: 'rate_limited', retry_after: seconds }, headers);
    return;
  }
  const retryAfter = response.asDate ? new Date(Date.now() + seconds * 1000).toUTCString() : String(seconds);
  send(res, 429, { message: 'Too Many Attempts.' }, { ...headers, 'retry-after': retryAfter });
}

/** Laravel's ThrottleRequests on a 429: Retry-After in seconds, the reset as a Unix time, nothing remaining. */
export function sendThrottled(res: ServerResponse, limit: number, retryAfterSeconds: number, resetAtSeconds: number): void {
  send(
    res,
    429,
    { message: 'Too Many Attempts.' },
    {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': '0',
      'retry-after': String(retryAfterSeconds),
      'x-ratelimit-reset': String(resetAtSeconds),
    },
  );
}

/** nginx's own page when the upstream is down: what a proxy in front of an instance answers. */
export function sendHtmlError(res: ServerResponse, status: number, headers: Record<string, string>): void {
  const title = `${status} ${HTML_REASONS[status] ?? 'Error'}`;
  const html = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html), ...headers });
  res.end(html);
}

const HTML_REASONS: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

export const UNAUTHENTICATED = { message: 'Unauthenticated.' };

export const WRONG_WORKSPACE = {
  data: { success: false, message: 'This action is unauthorized. The api key does not match the workspace the record is on.' },
};

export function recordNotFound(id: string) {
  return { data: { success: false, message: `Sender email ${id} not found.`, record_not_found: true } };
}

export function successFalse(message: string) {
  return { data: { success: false, message } };
}

/** Laravel's validation answer for `page` over the cap (`max:N` rule, message with EmailBison's hint). */
export function pageCapExceeded(cap: number) {
  const message = `The page field must not be greater than ${cap}. Use cursor pagination (pagination_type=cursor) to read further.`;
  return { message, errors: { page: [message] } };
}

/** The cap's 422 in one of the shapes an instance might give it (SimOptions.pageCapAnswer). */
export function sendPageCapExceeded(res: ServerResponse, cap: number, answer: PageCapAnswer): void {
  const laravel = pageCapExceeded(cap);
  if (answer === 'laravel') send(res, 422, laravel);
  else if (answer === 'message') send(res, 422, { message: laravel.message });
  else if (answer === 'html') {
    const html = `<!DOCTYPE html>\n<html><head><title>Unprocessable Content</title></head><body><h1>422</h1><p>${laravel.message}</p></body></html>\n`;
    res.writeHead(422, { 'content-type': 'text/html; charset=UTF-8', 'content-length': Buffer.byteLength(html) });
    res.end(html);
  } else {
    res.writeHead(422, { 'content-length': '0' });
    res.end();
  }
}

/** Laravel's validation answer for a cursor it cannot decode (only with `invalidCursor: 'reject'`). */
export function invalidCursorBody() {
  const message = 'The cursor is invalid.';
  return { message, errors: { cursor: [message] } };
}

export function workspaceResource(workspace: SimWorkspace) {
  return {
    id: workspace.id,
    name: workspace.name,
    personal_team: false,
    created_at: '2023-01-09T10:00:00.000000Z',
    updated_at: '2025-06-02T08:30:00.000000Z',
  };
}

/**
 * `GET /api/users` for an api-user key: the user and the workspace the key is bound to. The
 * workspace carries secret-looking fields on purpose (seeded, not real secrets), so a client can
 * be tested to read only `id` and `name` and never log or store the rest.
 */
export function userResource(workspace: SimWorkspace, seed: number) {
  const secrets = randomFor(seed, 'workspace-secrets', workspace.name);
  return {
    id: 5000 + workspace.id,
    name: `${workspace.name} API`,
    email: `api-user+${workspace.id}@emailbison.test`,
    profile_photo_url: null,
    workspace: {
      ...workspaceResource(workspace),
      main: false,
      api_token: `wsk_${hex(secrets, 32)}`,
      webhook_secret: `whsec_${hex(secrets, 32)}`,
      smtp_password: `smtp_${hex(secrets, 16)}`,
    },
  };
}

/** Every secret-looking value of the key's /api/users answer, for tests that check nothing leaks. */
export function workspaceSecrets(workspace: SimWorkspace, seed: number): string[] {
  const { api_token, webhook_secret, smtp_password } = userResource(workspace, seed).workspace;
  return [api_token, webhook_secret, smtp_password];
}

/**
 * HTTP 200 and a JSON body that never ends: the same account, over and over, as fast as the
 * client takes it (the writes wait for the socket to drain, so the simulator holds no more than
 * one chunk). Ends when the client hangs up or the simulator closes.
 */
export async function sendEndlessBody(res: ServerResponse, item: unknown): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.from(`${JSON.stringify(item)},`.repeat(64));
  res.write('{"data":[');
  while (!res.destroyed && !res.writableEnded) {
    if (!res.write(chunk))
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
  }
}

/** HTTP 200 and a body that sends one byte every `intervalMs`, forever: never idle long enough for a body timeout. */
export function sendTricklingBody(res: ServerResponse, intervalMs: number): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{');
  const timer = setInterval(() => {
    if (res.destroyed || res.writableEnded) return clearInterval(timer);
    res.write(' ');
  }, intervalMs);
  res.on('close', () => clearInterval(timer));
}
