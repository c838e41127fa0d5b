import { describeNetworkError, networkErrorCode } from './network-error';
import type { Dispatcher } from 'undici';
import {
  redactSecrets,
  BaseUrlNotFoundError,
  EmailBisonRefusedError,
  KeyBoundElsewhereError,
  PageCapReachedError,
  RejectedApiKeyError,
  UnexpectedResponseError,
} from '../errors';
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

/**
 * Where a walk of a workspace's sender emails stands, and what one request asks for: a page
 * number in page mode, an opaque cursor token in cursor mode (null: the top of the walk). It
 * travels in the state machine's payload and is saved in polling_job_workspaces; the token is
 * EmailBison's (Laravel's base64 of an id), bounded by MAX_CURSOR_TOKEN_LENGTH, never a secret.
 */
export type WalkCursor = { mode: 'page'; page: number } | { mode: 'cursor'; token: string | null };

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

/** Longest piece of EmailBison's own text an error repeats. */
const MAX_UPSTREAM_MESSAGE = 200;

/**
 * The query of one request. Cursor mode sends `pagination_type=cursor` on every request:
 * `links.next` drops it, and an instance that defaults to pages would answer a bare
 * `?cursor=` with page 1 (DESIGN.md, "What changed by late 2026"). So links are never followed.
 */
export function pageQuery(request: WalkCursor): string {
  if (request.mode === 'page') return `?page=${request.page}`;
  return request.token === null ? '?pagination_type=cursor' : `?pagination_type=cursor&cursor=${encodeURIComponent(request.token)}`;
}

/** `page` names the request in messages: the page number, or in cursor mode the page's place in this walk. */
export async function requestPage(
  context: PageRequestContext,
  request: WalkCursor,
  page: number,
  signal: AbortSignal,
): Promise<PageAttempt> {
  const seen: { rateLimit?: RateLimitHeaders } = {};
  const attempt = await requestPageOnce(context, request, page, signal, seen);
  return seen.rateLimit ? { ...attempt, rateLimit: seen.rateLimit } : attempt;
}

async function requestPageOnce(
  context: PageRequestContext,
  request: WalkCursor,
  page: number,
  signal: AbortSignal,
  seen: { rateLimit?: RateLimitHeaders },
): Promise<PageAttempt> {
  const path = `${context.basePath}${SENDER_EMAILS_PATH}`;
  const { workspace } = context;
  let status: number;
  let headers: Dispatcher.ResponseData['headers'];
  let text: string;
  try {
    const response = await context.dispatcher.request({
      origin: context.origin,
      path: `${path}${pageQuery(request)}`,
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

  // A 404 is the instance (or its proxy) saying the path does not exist, whatever the body's format.
  if (status === 404) throw new BaseUrlNotFoundError({ workspace, origin: context.origin, path });
  // A proxy's error page in front of the instance says nothing about the key or the request.
  if (isHtml(headers, text)) return { outcome: 'unavailable', failure: `an HTML error page (HTTP ${status})`, status };
  const body = parseJson(text);
  if (status === 401) throw new RejectedApiKeyError({ workspace, status });
  if (status === 403) {
    if (/does not match the workspace/i.test(upstreamMessage(body) ?? '')) throw new KeyBoundElsewhereError({ workspace, status });
    throw new RejectedApiKeyError({ workspace, status });
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = maxDefined(parseRetryAfterHeader(headers['retry-after'], Date.now()), parseRetryAfterBody(body));
    return { outcome: 'unavailable', failure: status === 429 ? 'HTTP 429 (rate limited)' : `HTTP ${status}`, status, retryAfterMs };
  }
  if (status === 422 && request.mode === 'page' && isPageRuleViolation(body))
    throw new PageCapReachedError({ workspace, page: request.page });
  if (status < 200 || status > 299) throw new UnexpectedResponseError({ workspace, page, status });

  if (body === undefined) return { outcome: 'malformed', failure: 'the body is not valid JSON' };
  if (isRefusal(body)) {
    throw new EmailBisonRefusedError({ workspace, path, page, message: sanitise(upstreamMessage(body), context.apiKey) });
  }
  const parsed = parsePage(body);
  if (!parsed.ok) return { outcome: 'malformed', failure: parsed.problem };
  const served = parsed.page;
  if (request.mode === 'page' && served.mode === 'page' && served.currentPage !== request.page) {
    return { outcome: 'malformed', failure: `meta.current_page is ${served.currentPage}, not the page asked for` };
  }
  if (served.mode === 'cursor' && served.nextCursor !== null) {
    if (served.nextCursor === (request.mode === 'cursor' ? request.token : null)) {
      return { outcome: 'malformed', failure: 'meta.next_cursor points back at the page asked for' };
    }
    // A cursor is stored and travels in the state machine's payload: never one that carries the key.
    if (served.nextCursor.includes(context.apiKey)) return { outcome: 'malformed', failure: 'meta.next_cursor carries the API key' };
  }
  return { outcome: 'page', page: served };
}

function isHtml(headers: Dispatcher.ResponseData['headers'], text: string): boolean {
  const type = headers['content-type'];
  const contentType = (Array.isArray(type) ? type[0] : type) ?? '';
  return /text\/html/i.test(contentType) || text.trimStart().startsWith('<');
}

/** Laravel's validation answer naming the `page` field: page mode's depth cap. */
function isPageRuleViolation(body: unknown): boolean {
  if (!isRecord(body) || !isRecord(body.errors)) return false;
  return 'page' in body.errors;
}

/** HTTP 200 with `success: false`, at the top level or (EmailBison's usual shape) under `data`. */
function isRefusal(body: unknown): boolean {
  if (!isRecord(body)) return false;
  return body.success === false || (isRecord(body.data) && body.data.success === false);
}

function upstreamMessage(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const message = isRecord(body.data) && typeof body.data.message === 'string' ? body.data.message : body.message;
  return typeof message === 'string' ? message : undefined;
}

/** EmailBison's words, fit to repeat: one line, printable, bounded, and never the key should it echo it. */
export function sanitise(message: string | undefined, apiKey: string): string | undefined {
  if (message === undefined) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  let text = message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  text = redactSecrets(text, [apiKey]);
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_UPSTREAM_MESSAGE ? `${text.slice(0, MAX_UPSTREAM_MESSAGE - 1)}…` : text;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An answer's body as JSON, or undefined when it is not (an HTML error page): never an error quoting upstream text. */
export function parseJson(text: string): unknown {
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
  const code = networkErrorCode(error);
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
    default:
      return `${context.origin}: ${describeNetworkError(error)}`;
  }
}
