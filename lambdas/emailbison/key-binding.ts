import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { RejectedApiKeyError } from '../errors';
import { MAX_ERROR_BODY_BYTES, readBody, requestDeadline } from './bounded-body';
import { sharedDispatcher } from './dispatcher';
import { parseJson } from './page-request';
import type { HostBudget } from './host-budget';
import { resolveOptions } from './options';
import { backoffMs, isConnectionFailure, parseRetryAfterBody, parseRetryAfterHeader, type Sleep } from './retry';

/*
 * Which EmailBison workspace an api-user key reads. List routes ignore any workspace
 * parameter and list the key's own workspace, so a key stored under the wrong row would
 * file another client's accounts here, and a consistent walk would then remove this
 * workspace's own. `GET /api/users` is the one way to ask: it answers the user and
 * `data.workspace` ({ id, name }).
 *
 * That answer also carries the workspace's other secrets (tokens, passwords): only
 * `data.workspace.id` and `data.workspace.name` are read from it, and its body is never
 * logged, stored or quoted in an error.
 */

export type KeyBinding =
  | { status: 'bound'; id: number; name: string }
  /** The instance could not say (no /api/users, an odd answer, or it kept failing): `reason` is ours, never upstream text. */
  | { status: 'unknown'; reason: string; rateLimited?: boolean };

export interface CheckKeyBindingOptions {
  /** Our workspace's name, for error messages. */
  workspace: string;
  baseUrl: string;
  apiKey: string;
  /** Default: the shared keep-alive pool of the host, as the sync client uses. */
  dispatcher?: Dispatcher;
  /** The host's request budget: the check is one more request to the instance. */
  hostBudget?: HostBudget;
  /** Attempts at the request (connection failures, 5xx, 429), the first included. Default 3. */
  maxAttempts?: number;
  baseBackoffMs?: number;
  /** Cap on one wait for a 429 (its Retry-After, header or body, else the backoff). Default 10 000: a check is not worth longer. */
  maxRetryWaitMs?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  sleep?: Sleep;
  signal?: AbortSignal;
  /** Counts the requests sent, for the caller's accounting (the job's api_requests). */
  stats?: { requests: number };
}

export const USERS_PATH = '/api/users';

/** Waits on a 429 longer than this are not worth it for a check: say "unknown" instead. */
const MAX_CHECK_WAIT_MS = 10_000;

/**
 * Asks the instance which workspace the key reads. 401 throws `RejectedApiKeyError`; an
 * open breaker throws `EmailBisonUnreachableError` (from the budget); 404 (an instance
 * without the route) and anything else it cannot read come back as `unknown`.
 */
export async function checkKeyBinding(options: CheckKeyBindingOptions): Promise<KeyBinding> {
  const { workspace, limits, origin, basePath, apiKey } = resolveOptions(options);
  const dispatcher = options.dispatcher ?? sharedDispatcher(origin, limits);
  const sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  const budget = options.hostBudget;
  const signal = options.signal ?? new AbortController().signal;
  const maxAttempts = options.maxAttempts ?? 3;
  const maxRetryWaitMs = options.maxRetryWaitMs ?? MAX_CHECK_WAIT_MS;
  let last = 'no attempt made';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1)
      await sleep(backoffMs(attempt - 1, { baseBackoffMs: limits.baseBackoffMs, maxRetryWaitMs: 2_000, random: Math.random }), signal);
    await budget?.acquire(signal);
    if (options.stats) options.stats.requests += 1;
    let status: number;
    let headers: Dispatcher.ResponseData['headers'];
    let body: unknown;
    let overflowed: boolean;
    // Bounded as the sync's pages are (bounded-body.ts): the answer is one user and its workspace.
    const deadline = requestDeadline(signal, limits.requestTimeoutMs);
    try {
      const response = await dispatcher.request({
        origin,
        path: `${basePath}${USERS_PATH}`,
        method: 'GET',
        headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
        signal: deadline.signal,
        headersTimeout: limits.headersTimeoutMs,
        bodyTimeout: limits.bodyTimeoutMs,
      });
      status = response.statusCode;
      headers = response.headers;
      const read = await readBody(response.body, status >= 200 && status <= 299 ? limits.maxResponseBytes : MAX_ERROR_BODY_BYTES);
      overflowed = read.overflowed;
      body = parseJson(read.text);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      lastStatus = undefined;
      const code = (error as { code?: unknown })?.code;
      last = deadline.expired
        ? `GET ${USERS_PATH} took longer than ${limits.requestTimeoutMs} ms in all`
        : `could not reach ${origin} (${typeof code === 'string' ? code : 'network error'})`;
      if (budget && isConnectionFailure(error)) {
        const { breakerOpen } = await budget.recordConnectionFailure();
        if (breakerOpen) await budget.acquire(signal); // throws EmailBisonUnreachableError, naming the host
      }
      continue;
    } finally {
      deadline.dispose();
    }
    await budget?.recordSuccess();
    if (status === 401) throw new RejectedApiKeyError({ workspace, status });
    if (status === 404) return { status: 'unknown', reason: `${origin} does not answer GET ${USERS_PATH} (HTTP 404)` };
    if (status === 429 || status >= 500) {
      last = `GET ${USERS_PATH} answered HTTP ${status}${status === 429 ? ' (rate limited)' : ''}`;
      lastStatus = status;
      // As the sync's client does: the header's Retry-After or the body's retry_after, whichever is longer.
      const retryAfterMs = maxDefined(parseRetryAfterHeader(headers['retry-after'], Date.now()), parseRetryAfterBody(body));
      if (status === 429 && budget)
        await budget.pause(Math.min(retryAfterMs ?? 1_000, maxRetryWaitMs) / 1000, `HTTP 429 on ${USERS_PATH} (workspace "${workspace}")`);
      else if (retryAfterMs !== undefined && attempt < maxAttempts) await sleep(Math.min(retryAfterMs, maxRetryWaitMs), signal);
      continue;
    }
    if (status < 200 || status > 299) return { status: 'unknown', reason: `GET ${USERS_PATH} answered HTTP ${status}` };
    if (overflowed) return { status: 'unknown', reason: `GET ${USERS_PATH} answered more than ${limits.maxResponseBytes} bytes` };
    return readBinding(body);
  }
  const reason = `${last} (${maxAttempts} attempt(s))`;
  return lastStatus === 429 ? { status: 'unknown', reason, rateLimited: true } : { status: 'unknown', reason };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/** Reads data.workspace.id and .name, and nothing else of the answer. */
function readBinding(body: unknown): KeyBinding {
  const boundTo = (body as { data?: { workspace?: { id?: unknown; name?: unknown } } } | undefined)?.data?.workspace;
  const id = boundTo?.id;
  const name = boundTo?.name;
  if (typeof id !== 'number' || !Number.isInteger(id) || typeof name !== 'string') {
    return { status: 'unknown', reason: `GET ${USERS_PATH} answered without data.workspace.id and name` };
  }
  return { status: 'bound', id, name };
}
