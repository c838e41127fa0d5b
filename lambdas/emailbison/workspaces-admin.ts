import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { EmailBisonAdminError } from '../errors';
import { MAX_ERROR_BODY_BYTES, readBody, requestDeadline } from './bounded-body';
import { sharedDispatcher } from './dispatcher';
import { EMAILBISON_CLIENT_DEFAULTS, resolveOptions } from './options';
import { isRecord, pageQuery, parseJson, type WalkCursor } from './page-request';
import { backoffMs, parseRetryAfterBody, parseRetryAfterHeader, type Sleep } from './retry';
import { parsePage } from './schema';

/*
 * The two super-admin calls `workspaces discover` makes (DESIGN.md, "Workspaces and keys"):
 * list the instance's workspaces (`GET /api/workspaces/v1.1`, every page, in whichever
 * pagination shape the instance answers) and mint an api-user key for one
 * (`POST /api/workspaces/v1.1/{team_id}/api-tokens`). No `switch-workspace`: it changes
 * server-side state for the admin key. The admin key goes into the Authorization header and
 * nowhere else; errors are built from method, path and status, never EmailBison's text.
 */

export interface AdminOptions {
  baseUrl: string;
  adminKey: string;
  dispatcher?: Dispatcher;
  sleep?: Sleep;
  /** Attempts per request on 429/5xx/connection failures (minting: on 429 only). Default 4. */
  maxAttempts?: number;
}

export interface InstanceWorkspace {
  id: number;
  name: string;
}

export const ADMIN_WORKSPACES_PATH = '/api/workspaces/v1.1';
/** Workspaces on one instance are tens, not thousands: a walk longer than this is a loop. */
const MAX_PAGES = 1_000;

/** Every workspace the admin key can see, all pages, sorted by id. Page mode first; a cursor answer is followed by cursor. */
export async function listInstanceWorkspaces(options: AdminOptions): Promise<InstanceWorkspace[]> {
  const found = new Map<number, InstanceWorkspace>();
  let request: WalkCursor | null = { mode: 'page', page: 1 };
  for (let pages = 0; request !== null; pages++) {
    if (pages >= MAX_PAGES) throw adminError(options, 'GET', ADMIN_WORKSPACES_PATH, { lastFailure: `more than ${MAX_PAGES} pages` });
    const body = await adminRequest(options, 'GET', `${ADMIN_WORKSPACES_PATH}${pageQuery(request)}`);
    // Some instances answer this route unpaginated: a bare `data` list is the whole answer.
    if (isRecord(body) && Array.isArray(body.data) && !isRecord(body.meta)) {
      for (const item of body.data) {
        const workspace = readWorkspace(item);
        if (workspace) found.set(workspace.id, workspace);
      }
      break;
    }
    const parsed = parsePage(body);
    if (!parsed.ok) {
      const problem = `${parsed.problem}${saysUnsuccessful(body) ? ', success: false' : ''}`;
      throw adminError(options, 'GET', ADMIN_WORKSPACES_PATH, { lastFailure: `not a page of workspaces (${problem})` });
    }
    for (const item of parsed.page.data) {
      const workspace = readWorkspace(item);
      if (workspace) found.set(workspace.id, workspace);
    }
    const page: typeof parsed.page = parsed.page;
    if (page.mode === 'page') {
      const more = page.currentPage < page.lastPage || (page.hasNext && page.data.length > 0);
      request = more ? { mode: 'page', page: page.currentPage + 1 } : null;
    } else {
      const token: string | null = page.nextCursor;
      if (token !== null && request.mode === 'cursor' && token === request.token)
        throw adminError(options, 'GET', ADMIN_WORKSPACES_PATH, { lastFailure: 'meta.next_cursor points back at the page asked for' });
      request = token === null ? null : { mode: 'cursor', token };
    }
  }
  return [...found.values()].sort((a, b) => a.id - b.id);
}

/**
 * Mints an api-user key for the workspace and returns it (the caller stores it at once).
 * Retried only on 429: Laravel's limiter answers before the controller runs, so nothing was
 * minted; any other failure may have minted a key, and a second one would be a second secret.
 */
export async function mintWorkspaceKey(options: AdminOptions, workspace: InstanceWorkspace, tokenName: string): Promise<string> {
  const path = `${ADMIN_WORKSPACES_PATH}/${workspace.id}/api-tokens`;
  const body = await adminRequest(options, 'POST', path, { name: tokenName }, workspace.name);
  const data = isRecord(body) && isRecord(body.data) ? body.data : body;
  const token = isRecord(data) ? data.plain_text_token : undefined;
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
    throw adminError(options, 'POST', path, {
      lastFailure: `the answer has no usable plain_text_token${saysUnsuccessful(body) ? ' (success: false)' : ''}`,
      workspace: workspace.name,
    });
  }
  return token;
}

async function adminRequest(options: AdminOptions, method: 'GET' | 'POST', pathAndQuery: string, json?: unknown, workspace?: string) {
  const { origin, basePath, apiKey, limits } = resolveOptions({
    workspace: 'super-admin',
    baseUrl: options.baseUrl,
    apiKey: options.adminKey,
  });
  const dispatcher = options.dispatcher ?? sharedDispatcher(origin, limits);
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const maxAttempts = options.maxAttempts ?? 4;
  const path = pathAndQuery.split('?')[0];
  let lastFailure = 'no attempt made';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let status: number;
    let headers: Dispatcher.ResponseData['headers'];
    let text: string;
    let overflowed: boolean;
    // Bounded as the sync's pages are (bounded-body.ts).
    const deadline = requestDeadline(new AbortController().signal, limits.requestTimeoutMs);
    try {
      const response = await dispatcher.request({
        origin,
        path: `${basePath}${pathAndQuery}`,
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          accept: 'application/json',
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: deadline.signal,
        headersTimeout: limits.headersTimeoutMs,
        bodyTimeout: limits.bodyTimeoutMs,
      });
      status = response.statusCode;
      headers = response.headers;
      const read = await readBody(response.body, status >= 200 && status <= 299 ? limits.maxResponseBytes : MAX_ERROR_BODY_BYTES);
      text = read.text;
      overflowed = read.overflowed;
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      lastFailure = deadline.expired
        ? `no complete answer within ${limits.requestTimeoutMs} ms`
        : `could not reach it (${typeof code === 'string' ? code : 'network error'})`;
      lastStatus = undefined;
      // A POST that may have reached the instance is not sent again (see mintWorkspaceKey).
      if (method === 'POST') break;
      await sleep(backoffMs(attempt, { ...EMAILBISON_CLIENT_DEFAULTS, random: Math.random }));
      continue;
    } finally {
      deadline.dispose();
    }
    // Decided by the status and by what was asked (the callers check the page or the token): a body
    // saying `success: false` only adds those words to the failure.
    const body = parseJson(text);
    const ok = status >= 200 && status <= 299;
    if (ok && !overflowed && body !== undefined) return body;
    lastStatus = status;
    lastFailure = !ok ? '' : overflowed ? `the answer is larger than ${limits.maxResponseBytes} bytes` : 'the body is not JSON';
    const retryable = status === 429 || (method === 'GET' && status >= 500);
    if (!retryable) break;
    const retryAfterMs = parseRetryAfterHeader(headers['retry-after'], Date.now()) ?? parseRetryAfterBody(body);
    if (attempt < maxAttempts)
      await sleep(
        Math.min(retryAfterMs ?? backoffMs(attempt, { ...EMAILBISON_CLIENT_DEFAULTS, random: Math.random }), limits.maxRetryWaitMs),
      );
  }
  throw adminError(options, method, path, { status: lastStatus, lastFailure: lastFailure || undefined, workspace });
}

function adminError(
  options: AdminOptions,
  method: string,
  path: string,
  details: { status?: number; lastFailure?: string; workspace?: string },
): EmailBisonAdminError {
  return new EmailBisonAdminError({ origin: new URL(options.baseUrl).origin, method, path, ...details });
}

/** id and name of a workspace resource; nothing else of it is read. */
function readWorkspace(item: unknown): InstanceWorkspace | undefined {
  if (!isRecord(item)) return undefined;
  const id = typeof item.id === 'string' && /^\d+$/.test(item.id) ? Number(item.id) : item.id;
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || typeof item.name !== 'string') return undefined;
  return { id, name: item.name };
}

/** The answer says `success: false` (EmailBison's way of failing some calls): words for a failure, never a decision. */
function saysUnsuccessful(body: unknown): boolean {
  return isRecord(body) && (body.success === false || (isRecord(body.data) && body.data.success === false));
}
