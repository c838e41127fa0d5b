import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { RejectedApiKeyError } from '../errors';
import { MAX_ERROR_BODY_BYTES, readBody, requestDeadline } from './bounded-body';
import type { HostBudget } from './host-budget';
import { parseJson, parseRateLimitHeaders } from './page-request';
import type { ResolvedOptions } from './options';
import { backoffMs, isConnectionFailure, parseRetryAfterBody, parseRetryAfterHeader, type Sleep } from './retry';

/*
 * One GET to an EmailBison instance beside the walk (GET /api/users for the key's binding,
 * GET /api/events for the event log), retried a few times and bounded as the walk's pages
 * are: every attempt takes a token of the host's budget, the body is read to a byte cap
 * (bounded-body.ts) within the request's time, connection failures feed the host's breaker.
 * What an answer means is decided by its status: 401 is the key (RejectedApiKeyError);
 * `retryStatuses` (429 and 5xx by default) are retried, a 429 pausing the whole host for its
 * Retry-After (header or body, whichever is longer, capped); any other status goes to the
 * caller's `read`, which returns its value or `{ retry: reason }` for an answer worth
 * another attempt (a page that does not read).
 */

export interface BudgetedGetOptions {
  resolved: Pick<ResolvedOptions, 'workspace' | 'limits' | 'origin'>;
  dispatcher: Dispatcher;
  apiKey: string;
  /** The request's path and query, base path included. */
  path: string;
  /** What messages call the request: `GET <label>`. */
  label: string;
  hostBudget?: HostBudget;
  /** Report the answer's X-RateLimit headers to the host budget (the host's window is every request's). */
  observeRateLimit?: boolean;
  retryStatuses?: (status: number) => boolean;
  maxAttempts: number;
  /** Cap on one wait for a 429. */
  maxRetryWaitMs: number;
  sleep?: Sleep;
  signal?: AbortSignal;
  /** Counts the requests sent (the job's api_requests). */
  stats?: { requests: number };
}

export interface Answer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  text: string;
  /** The body passed the cap (2xx: limits.maxResponseBytes; else MAX_ERROR_BODY_BYTES). */
  overflowed: boolean;
}

export type BudgetedGetResult<T> =
  | { kind: 'value'; value: T }
  /** Every attempt failed: `reason` is ours (the last failure, and the attempts), never upstream text. */
  | { kind: 'exhausted'; reason: string; lastStatus?: number };

const defaultRetry = (status: number) => status === 429 || status >= 500;

export async function budgetedGet<T>(
  options: BudgetedGetOptions,
  read: (answer: Answer) => T | { retry: string },
): Promise<BudgetedGetResult<T>> {
  const { workspace, limits, origin } = options.resolved;
  const { dispatcher, hostBudget: budget, label, maxAttempts, maxRetryWaitMs } = options;
  const sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  const signal = options.signal ?? new AbortController().signal;
  const retryable = options.retryStatuses ?? defaultRetry;
  let last = 'no attempt made';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1)
      await sleep(backoffMs(attempt - 1, { baseBackoffMs: limits.baseBackoffMs, maxRetryWaitMs: 2_000, random: Math.random }), signal);
    await budget?.acquire(signal);
    if (options.stats) options.stats.requests += 1;
    let answer: Answer;
    const deadline = requestDeadline(signal, limits.requestTimeoutMs);
    // On the database's clock, as the host budget keeps its windows.
    const sentAtMs = Date.now() + (budget?.clockOffsetMs ?? 0);
    try {
      const response = await dispatcher.request({
        origin,
        path: options.path,
        method: 'GET',
        headers: { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' },
        signal: deadline.signal,
        headersTimeout: limits.headersTimeoutMs,
        bodyTimeout: limits.bodyTimeoutMs,
      });
      const status = response.statusCode;
      const body = await readBody(response.body, status >= 200 && status <= 299 ? limits.maxResponseBytes : MAX_ERROR_BODY_BYTES);
      answer = { status, headers: response.headers, text: body.text, overflowed: body.overflowed };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      lastStatus = undefined;
      const code = (error as { code?: unknown })?.code;
      last = deadline.expired
        ? `GET ${label} took longer than ${limits.requestTimeoutMs} ms in all`
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
    const { status, headers } = answer;
    if (budget && options.observeRateLimit) {
      const rateLimit = parseRateLimitHeaders(headers);
      if (rateLimit) await budget.observeRemaining(rateLimit.remaining, rateLimit.resetInMs, { limit: rateLimit.limit, sentAtMs });
    }
    if (status === 401) throw new RejectedApiKeyError({ workspace, status });
    if (retryable(status)) {
      last = `GET ${label} answered HTTP ${status}${status === 429 ? ' (rate limited)' : ''}`;
      lastStatus = status;
      const retryAfterMs = maxDefined(
        parseRetryAfterHeader(headers['retry-after'], Date.now()),
        parseRetryAfterBody(parseJson(answer.text)),
      );
      if (status === 429 && budget)
        await budget.pause(Math.min(retryAfterMs ?? 1_000, maxRetryWaitMs) / 1000, `HTTP 429 on ${label} (workspace "${workspace}")`);
      else if (retryAfterMs !== undefined && attempt < maxAttempts) await sleep(Math.min(retryAfterMs, maxRetryWaitMs), signal);
      continue;
    }
    const value = read(answer);
    if (isRetry(value)) {
      last = value.retry;
      lastStatus = status;
      continue;
    }
    return { kind: 'value', value };
  }
  return { kind: 'exhausted', reason: `${last} (${maxAttempts} attempt(s))`, lastStatus };
}

function isRetry(value: unknown): value is { retry: string } {
  return typeof value === 'object' && value !== null && 'retry' in value && Object.keys(value).length === 1;
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
