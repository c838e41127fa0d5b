import type { Dispatcher } from 'undici';
import { BaseUrlNotFoundError, RejectedApiKeyError, UnexpectedResponseError } from '../errors';
import { parseRetryAfterBody, parseRetryAfterHeader } from './retry';
import { parsePage, type ParsedPage } from './schema';

export interface PageRequestContext {
  workspace: string;
  origin: string;
  basePath: string;
  apiKey: string;
  dispatcher: Dispatcher;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** What one attempt at one page came to. Failures that no retry can fix are thrown instead. */
export type PageAttempt =
  | { outcome: 'page'; page: ParsedPage; rateLimit?: RateLimitHeaders }
  | { outcome: 'unavailable'; failure: string; status?: number; retryAfterMs?: number; cause?: unknown; rateLimit?: RateLimitHeaders }
  | { outcome: 'malformed'; failure: string; rateLimit?: RateLimitHeaders };

/** Laravel's limiter headers: the window's size and what is left of it (no reset time outside a 429). */
export interface RateLimitHeaders {
  limit: number;
  remaining: number;
}

/** X-RateLimit-Limit / -Remaining when both are whole numbers, else undefined. */
export function parseRateLimitHeaders(headers: Dispatcher.ResponseData['headers']): RateLimitHeaders | undefined {
  const limit = wholeNumber(headers['x-ratelimit-limit']);
  const remaining = wholeNumber(headers['x-ratelimit-remaining']);
  return limit === undefined || remaining === undefined ? undefined : { limit, remaining };
}

function wholeNumber(value: string | string[] | undefined): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}

export const SENDER_EMAILS_PATH = '/api/sender-emails';

export async function requestPage(context: PageRequestContext, page: number, signal: AbortSignal): Promise<PageAttempt> {
  const seen: { rateLimit?: RateLimitHeaders } = {};
  const attempt = await requestPageOnce(context, page, signal, seen);
  return seen.rateLimit ? { ...attempt, rateLimit: seen.rateLimit } : attempt;
}

async function requestPageOnce(context: PageRequestContext, page: number, signal: AbortSignal, seen: { rateLimit?: RateLimitHeaders }): Promise<PageAttempt> {
  const path = `${context.basePath}${SENDER_EMAILS_PATH}`;
  let status: number;
  let headers: Dispatcher.ResponseData['headers'];
  let text: string;
  try {
    const response = await context.dispatcher.request({
      origin: context.origin,
      path: `${path}?page=${page}`,
      method: 'GET',
      headers: { authorization: `Bearer ${context.apiKey}`, accept: 'application/json' },
      signal,
      headersTimeout: context.headersTimeoutMs,
      bodyTimeout: context.bodyTimeoutMs,
    });
    status = response.statusCode;
    headers = response.headers;
    seen.rateLimit = parseRateLimitHeaders(headers);
    text = await response.body.text();
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    return { outcome: 'unavailable', failure: describeTransportError(error, context), cause: error };
  }

  if (status === 401 || status === 403) throw new RejectedApiKeyError({ workspace: context.workspace, status });
  if (status === 404) throw new BaseUrlNotFoundError({ workspace: context.workspace, origin: context.origin, path });
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = maxDefined(parseRetryAfterHeader(headers['retry-after'], Date.now()), parseRetryAfterBody(parseJson(text)));
    return { outcome: 'unavailable', failure: status === 429 ? 'HTTP 429 (rate limited)' : `HTTP ${status}`, status, retryAfterMs };
  }
  if (status < 200 || status > 299) throw new UnexpectedResponseError({ workspace: context.workspace, page, status });

  const body = parseJson(text);
  if (body === undefined) return { outcome: 'malformed', failure: 'the body is not valid JSON' };
  const parsed = parsePage(body);
  if (!parsed.ok) return { outcome: 'malformed', failure: parsed.problem };
  if (parsed.page.currentPage !== page) {
    return { outcome: 'malformed', failure: `meta.current_page is ${parsed.page.currentPage}, not the page asked for` };
  }
  return { outcome: 'page', page: parsed.page };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // The parser's message quotes the body, which is upstream text: it never goes into an error.
    return undefined;
  }
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/** A fixed description from the error's code: transport messages can carry upstream text. */
function describeTransportError(error: unknown, context: PageRequestContext): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `could not connect to ${context.origin} in time (${code})`;
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `no response within ${context.headersTimeoutMs} ms (${code})`;
    case 'UND_ERR_BODY_TIMEOUT':
      return `the response body stalled for ${context.bodyTimeoutMs} ms (${code})`;
    case 'ECONNREFUSED':
      return `${context.origin} refused the connection (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `could not resolve the host of ${context.origin} (${code})`;
    case undefined:
      return `network error (${error instanceof Error ? error.name : typeof error})`;
    default:
      return `network error (${code})`;
  }
}
