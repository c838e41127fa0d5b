import { setTimeout as delay } from 'node:timers/promises';
import { sharedDispatcher } from './dispatcher';
import { EmailBisonUnavailableError, errorCode, InvalidInputError, MalformedPageError } from '../errors';
import { requestPage, type PageAttempt, type PageRequestContext } from './page-request';
import { resolveOptions, type EmailBisonClientOptions } from './options';
import { backoffMs, isConnectionFailure, RateLimitGate, type Sleep } from './retry';
import { parseSenderEmail, type ParsedPage, type SenderEmail } from './schema';

export type { SenderEmail, SenderEmailTag } from './schema';
export { closeSharedDispatchers } from './dispatcher';
export { EMAILBISON_CLIENT_DEFAULTS, type EmailBisonClientOptions } from './options';

export interface SkippedItem {
  page: number;
  id: unknown;
  reason: string;
}

export interface SenderEmailPage {
  page: number;
  /** meta.last_page as this page reported it (it can move while pages are read). */
  lastPage: number;
  /** meta.total as this page reported it. */
  total: number;
  items: SenderEmail[];
  skipped: SkippedItem[];
}

export interface ClientStats {
  requests: number;
  retries: number;
  pages: number;
  items: number;
  skippedItems: number;
  rateLimitWaitMs: number;
}

export interface EmailBisonClient {
  /** A snapshot of what the client has done so far. */
  readonly stats: ClientStats;
  /**
   * Yields pages in page order from `fromPage` (default 1). Once the first page tells
   * meta.last_page, up to `pageConcurrency` pages are fetched ahead. Breaking out of the loop
   * aborts the requests in flight. Follows meta.last_page (the largest seen), and links.next
   * beyond it while pages keep coming back with items.
   */
  listSenderEmails(options?: { fromPage?: number; signal?: AbortSignal }): AsyncGenerator<SenderEmailPage>;
  /** One page request (page 1, retried like any other): the workspace's account total. */
  checkKey(options?: { signal?: AbortSignal }): Promise<{ total: number }>;
}

type Failure = Exclude<PageAttempt, { outcome: 'page' }>;

export function createEmailBisonClient(options: EmailBisonClientOptions): EmailBisonClient {
  const { workspace, limits, origin, basePath, apiKey } = resolveOptions(options);
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const gate = new RateLimitGate(sleep);
  const budget = options.hostBudget;
  const counts = { requests: 0, retries: 0, pages: 0, items: 0, skippedItems: 0 };
  const context: PageRequestContext = {
    workspace,
    origin,
    basePath,
    apiKey,
    dispatcher: options.dispatcher ?? sharedDispatcher(origin, limits),
    headersTimeoutMs: limits.headersTimeoutMs,
    bodyTimeoutMs: limits.bodyTimeoutMs,
  };

  async function fetchPage(page: number, signal: AbortSignal): Promise<ParsedPage> {
    for (let attempt = 1; ; attempt++) {
      await abortable(gate.pass(signal), signal);
      // Throws EmailBisonUnreachableError while the host's breaker is open: no retry here.
      await budget?.acquire(signal);
      counts.requests += 1;
      const result = await observed(requestPage(context, page, signal), signal);
      if (result.outcome === 'page') return result.page;
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
  async function observed(request: Promise<PageAttempt>, signal: AbortSignal): Promise<PageAttempt & { breakerOpen?: boolean }> {
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
    if (result.rateLimit) await budget.observeRemaining(result.rateLimit.limit, result.rateLimit.remaining);
    return result;
  }

  function gaveUp(page: number, last: Failure): Error {
    const attempts = limits.maxAttempts;
    if (last.outcome === 'malformed') return new MalformedPageError({ workspace, page, attempts, problem: last.failure });
    return new EmailBisonUnavailableError({ workspace, page, attempts, lastFailure: last.failure, cause: last.cause });
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

  function toPage(page: number, parsed: ParsedPage): SenderEmailPage {
    const items: SenderEmail[] = [];
    const skipped: SkippedItem[] = [];
    parsed.data.forEach((value, position) => {
      const item = parseSenderEmail(value, position);
      if (item.ok) items.push(item.item);
      else skipped.push({ page, id: item.id, reason: `page ${page}: ${item.reason}` });
    });
    return { page, lastPage: parsed.lastPage, total: parsed.total, items, skipped };
  }

  async function* listSenderEmails(listOptions: { fromPage?: number; signal?: AbortSignal } = {}): AsyncGenerator<SenderEmailPage> {
    const fromPage = listOptions.fromPage ?? 1;
    if (!Number.isInteger(fromPage) || fromPage < 1) {
      throw new InvalidInputError(`fromPage must be a whole number from 1 (workspace "${workspace}")`, { workspace });
    }
    listOptions.signal?.throwIfAborted();
    // Linked by hand, not with AbortSignal.any: on Node 20 that leaves a listener on the
    // caller's signal (the run's, shared by every workspace) until garbage collection,
    // and after ten workspaces Node warns of a leak.
    const controller = new AbortController();
    const signal = controller.signal;
    const outer = listOptions.signal;
    const abortFromOuter = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', abortFromOuter, { once: true });
    // Pages fetched or being fetched and not yet yielded; its size bounds the requests in flight.
    const ahead = new Map<number, Promise<ParsedPage>>();
    const start = (page: number) => {
      const fetching = fetchPage(page, signal);
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
        const parsed = await ahead.get(page)!;
        ahead.delete(page);
        lastPage = Math.max(lastPage, parsed.lastPage);
        if (page === lastPage && parsed.hasNext && parsed.data.length > 0) lastPage = page + 1;
        while (ahead.size < limits.pageConcurrency && nextToStart <= lastPage) {
          start(nextToStart);
          nextToStart += 1;
        }
        const result = toPage(page, parsed);
        counts.pages += 1;
        counts.items += result.items.length;
        counts.skippedItems += result.skipped.length;
        yield result;
      }
    } finally {
      outer?.removeEventListener('abort', abortFromOuter);
      controller.abort();
    }
  }

  async function checkKey(checkOptions: { signal?: AbortSignal } = {}): Promise<{ total: number }> {
    const page = await fetchPage(1, checkOptions.signal ?? new AbortController().signal);
    return { total: page.total };
  }

  return {
    get stats(): ClientStats {
      return { ...counts, rateLimitWaitMs: gate.closedMs + (budget?.waitedMs ?? 0) };
    },
    listSenderEmails,
    checkKey,
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
