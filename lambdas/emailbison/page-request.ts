import { describeNetworkError, networkErrorCode } from './network-error';
import type { Dispatcher } from 'undici';
import {
  redactSecrets,
  BaseUrlNotFoundError,
  PageCapReachedError,
  RejectedApiKeyError,
  ResponseTimeoutError,
  ResponseTooLargeError,
  UnexpectedResponseError,
} from '../errors';
import { MAX_ERROR_BODY_BYTES, readBody, requestDeadline, type BodyRead } from './bounded-body';
import { parseRetryAfterBody, parseRetryAfterHeader } from './retry';
import { parsePage, type ParsedPage } from './schema';

export interface PageRequestContext {
  workspace: string;
  origin: string;
  basePath: string;
  /** The list walked (EmailBisonClientOptions.list): its path and the query sent with every page. */
  list: ListResource;
  apiKey: string;
  dispatcher: Dispatcher;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** A page's body past this many bytes fails the request (ResponseTooLargeError). */
  maxResponseBytes: number;
  /** The request's whole time, headers and body (ResponseTimeoutError). */
  requestTimeoutMs: number;
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

/**
 * Laravel's limiter headers: the window's size and what is left of it, and when it resets where
 * the answer says (Laravel: only on a 429; other limiters on every answer).
 */
export interface RateLimitHeaders {
  limit: number;
  remaining: number;
  /** Milliseconds from the answer to the window's reset, from X-RateLimit-Reset. */
  resetInMs?: number;
}

/** X-RateLimit-Limit / -Remaining when both are whole numbers, else undefined; X-RateLimit-Reset when it reads. */
export function parseRateLimitHeaders(headers: Dispatcher.ResponseData['headers'], nowMs = Date.now()): RateLimitHeaders | undefined {
  const limit = wholeNumber(headers['x-ratelimit-limit']);
  const remaining = wholeNumber(headers['x-ratelimit-remaining']);
  if (limit === undefined || remaining === undefined) return undefined;
  const reset = wholeNumber(headers['x-ratelimit-reset']);
  if (reset === undefined) return { limit, remaining };
  // A Unix time (Laravel, GitHub) or, below a billion, seconds from now (the IETF draft's RateLimit-Reset).
  const resetInMs = reset > 1e9 ? reset * 1000 - nowMs : reset * 1000;
  return { limit, remaining, resetInMs: Math.max(0, resetInMs) };
}

function wholeNumber(value: string | string[] | undefined): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}

export const SENDER_EMAILS_PATH = '/api/sender-emails';

/**
 * A paginated list of sender emails: the accounts (`/api/sender-emails`, the default) or their
 * warmup figures (`/api/warmup/sender-emails` with `start_date` and `end_date`). Walked alike.
 */
export interface ListResource {
  path: string;
  /** Sent with every request, before the paging parameters (links drop it, and are never followed). */
  query?: Readonly<Record<string, string>>;
}

export const SENDER_EMAILS: ListResource = { path: SENDER_EMAILS_PATH };

/** Longest piece of EmailBison's own text an error repeats. */
const MAX_UPSTREAM_MESSAGE = 200;

/**
 * The query of one request. Cursor mode sends `pagination_type=cursor` on every request:
 * `links.next` drops it, and an instance that defaults to pages would answer a bare
 * `?cursor=` with page 1 (DESIGN.md, "What changed by late 2026"). So links are never followed.
 */
export function pageQuery(request: WalkCursor, fixed: ListResource['query'] = {}): string {
  const query = new URLSearchParams(fixed);
  if (request.mode === 'page') query.set('page', String(request.page));
  else {
    query.set('pagination_type', 'cursor');
    if (request.token !== null) query.set('cursor', request.token);
  }
  return `?${query.toString()}`;
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
  const path = `${context.basePath}${context.list.path}`;
  const { workspace } = context;
  const deadline = requestDeadline(signal, context.requestTimeoutMs);
  const progress = { bytes: 0 };
  let status: number;
  let headers: Dispatcher.ResponseData['headers'];
  let read: BodyRead;
  try {
    const response = await context.dispatcher.request({
      origin: context.origin,
      path: `${path}${pageQuery(request, context.list.query)}`,
      method: 'GET',
      headers: { authorization: `Bearer ${context.apiKey}`, accept: 'application/json' },
      signal: deadline.signal,
      headersTimeout: context.headersTimeoutMs,
      bodyTimeout: context.bodyTimeoutMs,
    });
    status = response.statusCode;
    headers = response.headers;
    seen.rateLimit = parseRateLimitHeaders(headers);
    const isAnswer = status >= 200 && status <= 299;
    read = await readBody(response.body, isAnswer ? context.maxResponseBytes : MAX_ERROR_BODY_BYTES, progress);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (deadline.expired) {
      throw new ResponseTimeoutError({
        workspace,
        page,
        request: `GET ${context.list.path}`,
        limitMs: context.requestTimeoutMs,
        bytesRead: progress.bytes,
      });
    }
    return { outcome: 'unavailable', failure: describeTransportError(error, context), cause: error };
  } finally {
    deadline.dispose();
  }
  if (read.overflowed && status >= 200 && status <= 299) {
    throw new ResponseTooLargeError({
      workspace,
      page,
      request: `GET ${context.list.path}`,
      limitBytes: context.maxResponseBytes,
      status,
    });
  }
  return judgeAnswer(context, request, page, { status, headers, text: read.text });
}

/**
 * What an answer means, decided by its status and by what was asked, never by a guessed body
 * (DESIGN.md, "No error body is a contract"): EmailBison's page-cap 422 has been seen as
 * Laravel's `errors`, as `message` alone, as an HTML page and empty. The body only adds its
 * words to the message (sanitised), and for a 429 or 5xx how long to wait.
 * - 401, 403: the key (not retried). A 403 may mean the key is bound to another workspace;
 *   the binding check (GET /api/users, key-binding.ts) is what says so, not this body.
 * - 408, 429, 5xx: retried here.
 * - page mode, 422 on any page or any other 4xx past page 1 (page 1 answered, so key and path
 *   are good): the page-depth cap; with EMAILBISON_PAGINATION=auto the walk goes on in cursors.
 * - 404: the base URL; any other non-2xx: UnexpectedResponseError (not retried).
 * - 2xx: a page, or malformed (retried) whatever else it holds (`success: false` included).
 */
function judgeAnswer(
  context: PageRequestContext,
  request: WalkCursor,
  page: number,
  answer: { status: number; headers: Dispatcher.ResponseData['headers']; text: string },
): PageAttempt {
  const { workspace, apiKey } = context;
  const { status, headers, text } = answer;
  const path = `${context.basePath}${context.list.path}`;
  const html = isHtml(headers, text);
  const body = html ? undefined : parseJson(text);
  const said = html ? 'an HTML page' : sanitise(upstreamMessage(body), apiKey);

  if (status === 401 || status === 403) throw new RejectedApiKeyError({ workspace, status, said });
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = maxDefined(parseRetryAfterHeader(headers['retry-after'], Date.now()), parseRetryAfterBody(body));
    const failure = html ? `an HTML error page (HTTP ${status})` : status === 429 ? 'HTTP 429 (rate limited)' : `HTTP ${status}`;
    return { outcome: 'unavailable', failure, status, retryAfterMs };
  }
  if (request.mode === 'page' && status >= 400 && status <= 499 && (status === 422 || request.page > 1)) {
    throw new PageCapReachedError({ workspace, page: request.page, status, said });
  }
  if (status === 404) throw new BaseUrlNotFoundError({ workspace, origin: context.origin, path });
  if (status < 200 || status > 299) throw new UnexpectedResponseError({ workspace, page, status });

  if (html) return { outcome: 'malformed', failure: 'an HTML page, not JSON' };
  if (body === undefined) return { outcome: 'malformed', failure: 'the body is not valid JSON' };
  const parsed = parsePage(body);
  if (!parsed.ok) return { outcome: 'malformed', failure: `${parsed.problem}${said ? ` (EmailBison said: "${said}")` : ''}` };
  const served = parsed.page;
  if (request.mode === 'page' && served.mode === 'page' && served.currentPage !== request.page) {
    return { outcome: 'malformed', failure: `meta.current_page is ${served.currentPage}, not the page asked for` };
  }
  if (served.mode === 'cursor' && served.nextCursor !== null) {
    if (served.nextCursor === (request.mode === 'cursor' ? request.token : null)) {
      return { outcome: 'malformed', failure: 'meta.next_cursor points back at the page asked for' };
    }
    // A cursor is stored and travels in the state machine's payload: never one that carries the key.
    if (served.nextCursor.includes(apiKey)) return { outcome: 'malformed', failure: 'meta.next_cursor carries the API key' };
  }
  return { outcome: 'page', page: served };
}

function isHtml(headers: Dispatcher.ResponseData['headers'], text: string): boolean {
  const type = headers['content-type'];
  const contentType = (Array.isArray(type) ? type[0] : type) ?? '';
  return /text\/html/i.test(contentType) || text.trimStart().startsWith('<');
}

/** EmailBison's `message` (top level, or under `data` as its 403/404 put it): words for a message, never a decision. */
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
