import { setTimeout as delay } from 'node:timers/promises';
import { sharedDispatcher } from './dispatcher';
import { EmailBisonUnavailableError, errorCode, InvalidInputError, MalformedPageError } from '../errors';
import { requestPage, SENDER_EMAILS, type PageAttempt, type PageRequestContext, type WalkCursor } from './page-request';
import { resolveOptions, type EmailBisonClientOptions } from './options';
import { backoffMs, isConnectionFailure, RateLimitGate, type Sleep } from './retry';
import { MAX_CURSOR_TOKEN_LENGTH, parseSenderEmail, type ParsedPage, type SenderEmail } from './schema';

export type { SenderEmail, SenderEmailTag } from './schema';
export { MAX_CURSOR_TOKEN_LENGTH } from './schema';
export type { ListResource, WalkCursor } from './page-request';
export { closeSharedDispatchers } from './dispatcher';
export { EMAILBISON_CLIENT_DEFAULTS, type EmailBisonClientOptions } from './options';

export interface SkippedItem {
  page: number;
  id: unknown;
  reason: string;
}

/** One page of a walk, in the mode EmailBison answered it in. */
export interface SenderEmailPage {
  kind: 'page';
  mode: 'page' | 'cursor';
  /** The page number in page mode; in cursor mode the page's place in this walk (from where it started or resumed). */
  page: number;
  /** Page mode: meta.last_page as this page reported it (it can move while pages are read). Cursor mode: null. */
  lastPage: number | null;
  /** Page mode: meta.total as this page reported it. Cursor mode: null (cursor pages carry no total). */
  total: number | null;
  /** Where the walk goes on after this page; null when this page was the last. */
  next: WalkCursor | null;
  items: SenderEmail[];
  skipped: SkippedItem[];
  /**
   * Epoch ms when the request that answered this page was sent: what the page says is
   * EmailBison's state at about then, and no later (a webhook change after it is newer).
   */
  fetchedAtMs: number;
}

/**
 * The walk starts again from the top in `mode`: EmailBison answered in the other mode, or
 * refused a page past its cap. The pages already yielded stay valid accounts, but they and
 * the new walk's are not one consistent walk.
 */
export interface WalkRestart {
  kind: 'restart';
  mode: 'page' | 'cursor';
  reason: string;
}

export type WalkStep = SenderEmailPage | WalkRestart;

export interface ClientStats {
  requests: number;
  retries: number;
  pages: number;
  items: number;
  skippedItems: number;
  rateLimitWaitMs: number;
}

export interface ListOptions {
  /** Where to start or resume; default: the top of a walk in the configured mode (page 1 unless `pagination` is cursor). */
  from?: WalkCursor;
  /** Shorthand for `from: { mode: 'page', page: fromPage }`. */
  fromPage?: number;
  signal?: AbortSignal;
}

export interface EmailBisonClient {
  /** A snapshot of what the client has done so far. */
  readonly stats: ClientStats;
  /**
   * One walk of the workspace's sender emails, yielding pages in order. Page mode: once the
   * first page tells meta.last_page, up to `pageConcurrency` pages are fetched ahead; it
   * follows meta.last_page (the largest seen), and links.next beyond it while pages keep
   * coming back with items. Cursor mode: one request at a time, each with the previous
   * page's next_cursor. With `pagination: auto`, a cursor answer to a page request or a 422
   * past the page cap yields a `restart` and the walk begins again in cursor mode (and a
   * page answer to the first cursor request, again in page mode). The cap is known by its status
   * alone (page-request.ts): 422 on any page, any other 4xx but 401/403/408/429 past page 1. Breaking out of the loop
   * aborts the requests in flight.
   */
  listSenderEmails(options?: ListOptions): AsyncGenerator<WalkStep>;
  /**
   * One `page=1` request, retried like any other: meta.total when the instance answers it in
   * page mode, null when it answers in cursor mode (a cursor-only instance).
   */
  pageModeTotal(options?: { signal?: AbortSignal }): Promise<number | null>;
  /** Whether the key reads: the workspace's account total as pageModeTotal gives it. */
  checkKey(options?: { signal?: AbortSignal }): Promise<{ total: number | null }>;
}

type Failure = Exclude<PageAttempt, { outcome: 'page' }>;
type FetchedPage = ParsedPage & { fetchedAtMs: number };
type ModeChange = { to: 'page' | 'cursor'; reason: string };

/** Restarts of one walk in another mode before the client gives up on an instance that keeps switching. */
const MAX_RESTARTS = 2;

export function createEmailBisonClient(options: EmailBisonClientOptions): EmailBisonClient {
  const { workspace, pagination, limits, origin, basePath, apiKey } = resolveOptions(options);
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const gate = new RateLimitGate(sleep);
  const budget = options.hostBudget;
  const counts = { requests: 0, retries: 0, pages: 0, items: 0, skippedItems: 0 };
  const context: PageRequestContext = {
    workspace,
    origin,
    basePath,
    list: options.list ?? SENDER_EMAILS,
    apiKey,
    dispatcher: options.dispatcher ?? sharedDispatcher(origin, limits),
    headersTimeoutMs: limits.headersTimeoutMs,
    bodyTimeoutMs: limits.bodyTimeoutMs,
    maxResponseBytes: limits.maxResponseBytes,
    requestTimeoutMs: limits.requestTimeoutMs,
  };

  /**
   * One request, with its retries: a page number or a cursor token. `page` names it in errors
   * (in cursor mode, its place in the walk). Both modes' paging goes through here.
   */
  async function fetchPage(
    request: WalkCursor,
    signal: AbortSignal,
    page = request.mode === 'page' ? request.page : 1,
  ): Promise<FetchedPage> {
    for (let attempt = 1; ; attempt++) {
      await abortable(gate.pass(signal), signal);
      // Throws EmailBisonUnreachableError while the host's breaker is open: no retry here.
      await budget?.acquire(signal);
      counts.requests += 1;
      const fetchedAtMs = Date.now();
      // On the database's clock, as the host budget keeps its windows.
      const sentAtMs = fetchedAtMs + (budget?.clockOffsetMs ?? 0);
      const result = await observed(requestPage(context, request, page, signal), signal, sentAtMs);
      if (result.outcome === 'page') return { ...result.page, fetchedAtMs };
      // The breaker just opened: the next acquire fails fast, naming the host.
      if (result.breakerOpen && attempt < limits.maxAttempts) continue;
      if (attempt >= limits.maxAttempts) throw gaveUp(page, result);
      counts.retries += 1;
      await wait(result, attempt, signal);
    }
  }

  /**
   * Tells the host budget what an attempt came to: a transport failure that says the host
   * cannot be reached counts towards its breaker; any HTTP answer (an error thrown for a
   * 401 or a 404 included) is a success; the limiter's headers slow the host down.
   */
  async function observed(
    request: Promise<PageAttempt>,
    signal: AbortSignal,
    sentAtMs: number,
  ): Promise<PageAttempt & { breakerOpen?: boolean }> {
    let result: PageAttempt;
    try {
      result = await request;
    } catch (error) {
      if (budget && !signal.aborted && errorCode(error)?.startsWith('SS_')) await budget.recordSuccess();
      throw error;
    }
    if (!budget) return result;
    if (result.outcome === 'unavailable' && result.status === undefined) {
      if (!isConnectionFailure(result.cause)) return result;
      const { breakerOpen } = await budget.recordConnectionFailure();
      return { ...result, breakerOpen };
    }
    await budget.recordSuccess();
    if (result.rateLimit) {
      const { limit, remaining, resetInMs } = result.rateLimit;
      await budget.observeRemaining(remaining, resetInMs, { limit, sentAtMs });
    }
    return result;
  }

  function gaveUp(page: number, last: Failure): Error {
    const attempts = limits.maxAttempts;
    if (last.outcome === 'malformed') return new MalformedPageError({ workspace, page, attempts, problem: last.failure });
    return new EmailBisonUnavailableError({
      workspace,
      page,
      attempts,
      lastFailure: last.failure,
      lastStatus: last.status,
      cause: last.cause,
    });
  }

  /**
   * Told how long to wait (or throttled): the whole workspace waits, and through the host
   * budget every sync of the instance. Otherwise: this request backs off, and briefly when the
   * host could not be reached (the breaker, not a long backoff, decides that it is down).
   */
  async function wait(failure: Failure, retry: number, signal: AbortSignal): Promise<void> {
    const connectionFailure = failure.outcome === 'unavailable' && isConnectionFailure(failure.cause);
    const maxRetryWaitMs = connectionFailure ? Math.min(limits.maxRetryWaitMs, CONNECTION_FAILURE_MAX_BACKOFF_MS) : limits.maxRetryWaitMs;
    const backoff = backoffMs(retry, { ...limits, maxRetryWaitMs, random });
    if (failure.outcome === 'unavailable' && (failure.retryAfterMs !== undefined || failure.status === 429)) {
      const waitMs = Math.min(failure.retryAfterMs ?? backoff, limits.maxRetryWaitMs);
      gate.close(waitMs);
      await budget?.pause(waitMs / 1000, `${failure.failure} (workspace "${workspace}")`);
      return;
    }
    await abortable(sleep(backoff, signal), signal);
  }

  function toPage(page: number, parsed: FetchedPage, next: WalkCursor | null): SenderEmailPage {
    const items: SenderEmail[] = [];
    const skipped: SkippedItem[] = [];
    parsed.data.forEach((value, position) => {
      const item = parseSenderEmail(value, position);
      if (item.ok) items.push(item.item);
      else skipped.push({ page, id: item.id, reason: `page ${page}: ${item.reason}` });
    });
    counts.pages += 1;
    counts.items += items.length;
    counts.skippedItems += skipped.length;
    const { fetchedAtMs } = parsed;
    return parsed.mode === 'page'
      ? { kind: 'page', mode: 'page', page, lastPage: parsed.lastPage, total: parsed.total, next, items, skipped, fetchedAtMs }
      : { kind: 'page', mode: 'cursor', page, lastPage: null, total: null, next, items, skipped, fetchedAtMs };
  }

  async function* pageWalk(fromPage: number, outer: AbortSignal | undefined): AsyncGenerator<SenderEmailPage, ModeChange | undefined> {
    const { signal, release } = linkedAbort(outer);
    // Pages fetched or being fetched and not yet yielded; its size bounds the requests in flight.
    const ahead = new Map<number, Promise<FetchedPage>>();
    const start = (page: number) => {
      const fetching = fetchPage({ mode: 'page', page }, signal);
      fetching.catch(() => undefined); // awaited when its turn comes; until then, not unhandled
      ahead.set(page, fetching);
    };
    let lastPage = fromPage;
    let nextToStart = fromPage;
    try {
      for (let page = fromPage; page <= lastPage; page++) {
        if (!ahead.has(page)) {
          start(page);
          nextToStart = page + 1;
        }
        let parsed: FetchedPage;
        try {
          parsed = await ahead.get(page)!;
        } catch (error) {
          if (errorCode(error) === 'SS_EMAILBISON_PAGE_CAP' && pagination === 'auto') {
            const status = (error as { status?: number }).status ?? 422;
            return { to: 'cursor', reason: `EmailBison refused page ${page} past its page-depth cap (HTTP ${status})` };
          }
          throw error;
        }
        ahead.delete(page);
        if (parsed.mode === 'cursor') {
          if (pagination === 'page') {
            throw new MalformedPageError({
              workspace,
              page,
              attempts: 1,
              problem:
                'EmailBison answered in cursor pagination, and EMAILBISON_PAGINATION=page reads page numbers only (use auto or cursor)',
            });
          }
          return { to: 'cursor', reason: `EmailBison answered page ${page} in cursor pagination` };
        }
        lastPage = Math.max(lastPage, parsed.lastPage);
        if (page === lastPage && parsed.hasNext && parsed.data.length > 0) lastPage = page + 1;
        while (ahead.size < limits.pageConcurrency && nextToStart <= lastPage) {
          start(nextToStart);
          nextToStart += 1;
        }
        yield toPage(page, parsed, page < lastPage ? { mode: 'page', page: page + 1 } : null);
      }
      return undefined;
    } finally {
      release();
    }
  }

  /** Sequential by nature: each request needs the cursor the previous answer gave. */
  async function* cursorWalk(
    fromToken: string | null,
    outer: AbortSignal | undefined,
  ): AsyncGenerator<SenderEmailPage, ModeChange | undefined> {
    const { signal, release } = linkedAbort(outer);
    try {
      let token = fromToken;
      for (let page = 1; ; page++) {
        const parsed = await fetchPage({ mode: 'cursor', token }, signal, page);
        if (parsed.mode === 'page') {
          // An instance that ignores pagination_type serves page mode only: read it so, from the top.
          if (token === null && pagination === 'auto')
            return { to: 'page', reason: 'EmailBison answered a cursor request in page pagination' };
          throw new MalformedPageError({
            workspace,
            page,
            attempts: 1,
            problem: `EmailBison answered a cursor request in page pagination${pagination === 'cursor' ? ' (EMAILBISON_PAGINATION=cursor; use auto for this instance)' : ''}`,
          });
        }
        const next: WalkCursor | null = parsed.nextCursor === null ? null : { mode: 'cursor', token: parsed.nextCursor };
        yield toPage(page, parsed, next);
        if (next === null) return undefined;
        token = next.token;
      }
    } finally {
      release();
    }
  }

  async function* listSenderEmails(listOptions: ListOptions = {}): AsyncGenerator<WalkStep> {
    let from = startingPoint(listOptions);
    listOptions.signal?.throwIfAborted();
    for (let restarts = 0; ; restarts++) {
      const change =
        from.mode === 'page' ? yield* pageWalk(from.page, listOptions.signal) : yield* cursorWalk(from.token, listOptions.signal);
      if (!change) return;
      if (restarts >= MAX_RESTARTS) {
        throw new MalformedPageError({
          workspace,
          page: 1,
          attempts: restarts + 1,
          problem: `EmailBison keeps switching pagination modes (last: ${change.reason})`,
        });
      }
      yield { kind: 'restart', mode: change.to, reason: change.reason };
      from = change.to === 'page' ? { mode: 'page', page: 1 } : { mode: 'cursor', token: null };
    }
  }

  function startingPoint(listOptions: ListOptions): WalkCursor {
    if (listOptions.from) {
      const from = listOptions.from;
      if (from.mode === 'page') return { mode: 'page', page: checkPage(from.page) };
      if (
        from.token !== null &&
        (typeof from.token !== 'string' || from.token.length === 0 || from.token.length > MAX_CURSOR_TOKEN_LENGTH)
      ) {
        throw new InvalidInputError(
          `a cursor token must be a non-empty string of at most ${MAX_CURSOR_TOKEN_LENGTH} characters (workspace "${workspace}")`,
          { workspace },
        );
      }
      return from;
    }
    if (listOptions.fromPage !== undefined) return { mode: 'page', page: checkPage(listOptions.fromPage) };
    return pagination === 'cursor' ? { mode: 'cursor', token: null } : { mode: 'page', page: 1 };
  }

  function checkPage(page: number): number {
    if (!Number.isInteger(page) || page < 1) {
      throw new InvalidInputError(`fromPage must be a whole number from 1 (workspace "${workspace}")`, { workspace });
    }
    return page;
  }

  async function pageModeTotal(probeOptions: { signal?: AbortSignal } = {}): Promise<number | null> {
    const page = await fetchPage({ mode: 'page', page: 1 }, probeOptions.signal ?? new AbortController().signal);
    return page.mode === 'page' ? page.total : null;
  }

  return {
    get stats(): ClientStats {
      return { ...counts, rateLimitWaitMs: gate.closedMs + (budget?.waitedMs ?? 0) };
    },
    listSenderEmails,
    pageModeTotal,
    async checkKey(checkOptions = {}) {
      return { total: await pageModeTotal(checkOptions) };
    },
  };
}

/**
 * A signal of our own that follows the caller's, so a walk can abort its requests in flight.
 * Linked by hand, not with AbortSignal.any: on Node 20 that leaves a listener on the caller's
 * signal (the run's, shared by every workspace) until garbage collection, and after ten
 * workspaces Node warns of a leak.
 */
function linkedAbort(outer: AbortSignal | undefined): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const abortFromOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) abortFromOuter();
  else outer?.addEventListener('abort', abortFromOuter, { once: true });
  return {
    signal: controller.signal,
    release: () => {
      outer?.removeEventListener('abort', abortFromOuter);
      controller.abort();
    },
  };
}

/** Backoff ceiling after a refused or timed-out connection: a dead host is the breaker's to call, quickly. */
const CONNECTION_FAILURE_MAX_BACKOFF_MS = 2_000;

const defaultSleep: Sleep = (ms, signal) => delay(ms, undefined, { signal });

/** Rejects with the caller's abort reason rather than whatever the aborted operation threw. */
async function abortable<T>(operation: Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw error;
  }
}
