import { budgetedGet } from './budgeted-get';
import { sharedDispatcher } from './dispatcher';
import type { HostBudget } from './host-budget';
import { type EmailBisonClientOptions, resolveOptions } from './options';
import { isRecord, parseJson } from './page-request';
import type { Sleep } from './retry';
import { MAX_CURSOR_TOKEN_LENGTH } from './schema';

/*
 * One page of EmailBison's event log (../shared/DESIGN.md, "Corrections and additions"):
 * GET /api/events?pagination_type=cursor&start_date=YYYY-MM-DD&end_date=YYYY-MM-DD[&cursor=…],
 * cursor mode only, both dates or neither (422), about the last 10 days. Each item is
 * {id, uuid, payload: {event, data}, webhook_deliveries, created_at}.
 *
 * What an answer means is decided by its status, never by a guessed body: 404 is an instance
 * without the log; 408, 429 and 5xx (and a transport failure, or a 2xx that does not read as
 * a cursor page) are retried a few times; 401 is the key (RejectedApiKeyError, as the walk
 * would find it); any other answer is refused. Bounded as the walk's pages are: the body's
 * bytes (bounded-body.ts), the request's time, the host's budget (host-budget.ts).
 */

export const EVENTS_PATH = '/api/events';

export interface EventLogQuery {
  startDate: string;
  endDate: string;
  cursor: string | null;
}

export type EventLogAnswer =
  | { kind: 'page'; items: unknown[]; nextCursor: string | null }
  /** HTTP 404: the instance has no event log. */
  | { kind: 'absent' }
  /** Not a page, and no retry will make it one: `reason` is ours (status and what was asked), never upstream text. */
  | { kind: 'refused'; reason: string }
  /** Retried `attempts` times and still not a page. */
  | { kind: 'unavailable'; reason: string };

export interface EventLogRequestOptions extends Pick<EmailBisonClientOptions, 'workspace' | 'baseUrl' | 'apiKey' | 'dispatcher'> {
  hostBudget?: HostBudget;
  maxResponseBytes?: number;
  requestTimeoutMs?: number;
  /** Attempts per page, the first included. Default 3: the log is a repair, the walk goes on without it. */
  maxAttempts?: number;
  /** Cap on one wait for a 429. Default 10 000. */
  maxRetryWaitMs?: number;
  sleep?: Sleep;
  signal?: AbortSignal;
  /** Counts the requests sent (the job's api_requests). */
  stats?: { requests: number };
}

export async function requestEventLogPage(options: EventLogRequestOptions, query: EventLogQuery): Promise<EventLogAnswer> {
  const resolved = resolveOptions(options);
  const { origin, basePath, limits } = resolved;
  const result = await budgetedGet<EventLogAnswer>(
    {
      resolved,
      dispatcher: options.dispatcher ?? sharedDispatcher(origin, limits),
      apiKey: resolved.apiKey,
      path: `${basePath}${EVENTS_PATH}${eventLogQuery(query)}`,
      label: EVENTS_PATH,
      hostBudget: options.hostBudget,
      // The limiter's headers, as the walk's client reports them: the host's window is every request's.
      observeRateLimit: true,
      retryStatuses: (status) => status === 408 || status === 429 || status >= 500,
      maxAttempts: options.maxAttempts ?? 3,
      maxRetryWaitMs: options.maxRetryWaitMs ?? 10_000,
      sleep: options.sleep,
      signal: options.signal,
      stats: options.stats,
    },
    ({ status, text, overflowed }) => {
      if (status === 404) return { kind: 'absent' };
      if (status < 200 || status > 299) return { kind: 'refused', reason: `GET ${EVENTS_PATH} answered HTTP ${status}` };
      if (overflowed) return { kind: 'refused', reason: `GET ${EVENTS_PATH} answered more than ${limits.maxResponseBytes} bytes` };
      const page = readCursorPage(parseJson(text), query.cursor);
      return typeof page === 'string' ? { retry: `GET ${EVENTS_PATH} answered a page that does not read: ${page}` } : page;
    },
  );
  return result.kind === 'value' ? result.value : { kind: 'unavailable', reason: result.reason };
}

/** Both dates always (one alone is a 422), cursor mode always (the log has no other). */
export function eventLogQuery(query: EventLogQuery): string {
  const dates = `pagination_type=cursor&start_date=${query.startDate}&end_date=${query.endDate}`;
  return query.cursor === null ? `?${dates}` : `?${dates}&cursor=${encodeURIComponent(query.cursor)}`;
}

/** {data: [...], meta: {next_cursor}}: the shape decides nothing but whether it is a page; items are checked by the caller. */
function readCursorPage(body: unknown, asked: string | null): EventLogAnswer | string {
  if (!isRecord(body)) return 'the body is not a JSON object';
  if (!Array.isArray(body.data)) return 'it has no "data" list';
  if (!isRecord(body.meta)) return 'it has no "meta"';
  const next = body.meta.next_cursor;
  if (next !== null && (typeof next !== 'string' || next.length === 0 || next.length > MAX_CURSOR_TOKEN_LENGTH)) {
    return `meta.next_cursor is not null nor a token of at most ${MAX_CURSOR_TOKEN_LENGTH} characters`;
  }
  if (next !== null && next === asked) return 'meta.next_cursor points back at the page asked for';
  return { kind: 'page', items: body.data, nextCursor: next };
}
