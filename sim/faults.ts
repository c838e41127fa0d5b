import type { RawSenderEmail } from './data';
import { chance, pick, type Random } from './random';

/**
 * Misbehaviour to inject, per workspace. Fractions are per request, from a seeded stream.
 * "Page" means the page number in page mode and, in cursor mode, the page's ordinal in the
 * walk from the top (1 for the request without a cursor, 2 for the first `next_cursor`, ...).
 */
export interface SimFaults {
  /** Share of sender-email requests answered 429. */
  rateLimitFraction?: number;
  /** Wait the 429s ask for (default 1); null: a 429 with no hint at all. */
  retryAfterSeconds?: number | null;
  /** Say the wait in the body (`{"error":"rate_limited","retry_after":N}`) instead of the header. */
  retryAfterInBody?: boolean;
  /** Say the wait as an HTTP date in Retry-After instead of seconds. */
  retryAfterAsDate?: boolean;
  /** Share of sender-email requests answered 500/502/503/504. */
  serverErrorFraction?: number;
  /** Share of requests held without an answer. */
  hangFraction?: number;
  /** Pages whose requests are held, `hangTimes` times each (default: always). */
  hangPages?: number[];
  hangTimes?: number;
  /** How long a held request is held before it is answered normally; default: until the client gives up. */
  hangMs?: number;
  /** Pages answered with invalid JSON `malformedTimes` times each (default Infinity: never recover). */
  malformedPages?: number[];
  malformedTimes?: number;
  /** Pages answered without `meta` (also `malformedTimes` times each). */
  missingMetaPages?: number[];
  /** Accounts served without `invalidItemField` (default: email). */
  invalidItemIds?: number[];
  invalidItemField?: 'email' | 'id';
  /** Every request with the workspace's key is answered 401. */
  rejectKey?: boolean;
  /** Page mode only: requests for `page` and beyond answer `status` (an instance refusing deep pages, whatever the body). */
  refusePagesFrom?: { page: number; status: number };
  /** Every page from `page` on answers `status`, `times` times per page (default: always). */
  failFromPage?: { page: number; status: number; times?: number };
  /** Once `afterRequests` sender-email requests have been answered: add and remove accounts. */
  drift?: { afterRequests: number; add?: number; remove?: number };
  /** Serve 0 accounts, total 0, while the accounts stay (an upstream glitch). */
  emptyResponse?: boolean;
  /**
   * Answer HTTP 200 `{"data":{"success":false,"message":<message>}}` (EmailBison's way of failing
   * some calls) to the next `times` sender-email requests (default: every one).
   */
  successFalse?: { message?: string; times?: number };
  /**
   * Answer an HTML error page from a proxy in front of the instance (`text/html`, nginx's
   * "502 Bad Gateway" page by default) to the next `times` requests of any route (default: every one).
   */
  htmlErrorPage?: { status?: number; times?: number };
  /** Sender-email requests answered HTTP 200 with a JSON body that never ends (as fast as the client reads). */
  endlessBody?: boolean;
  /** Sender-email requests answered HTTP 200 with a body that sends one byte every this many ms, forever. */
  trickleBodyMs?: number;
  /**
   * Cursor mode: page N+1's next_cursor is page 1's, so the walk's cursors go round a cycle of
   * length N (1: the same cursor again; 2: A, B, A, ...). The workspace needs more than N+1 pages.
   */
  cursorCycle?: number;
}

export type FaultResponse =
  | { kind: 'ok' }
  | { kind: 'rateLimited'; retryAfterSeconds: number | null; inBody: boolean; asDate: boolean }
  | { kind: 'status'; status: number }
  | { kind: 'malformed' }
  | { kind: 'missingMeta' }
  | { kind: 'successFalse'; message: string }
  | { kind: 'endless' }
  | { kind: 'trickle'; intervalMs: number };

export interface FaultDecision {
  /** Hold the request this long first (Infinity: until the client disconnects). */
  holdMs: number;
  response: FaultResponse;
}

const SERVER_ERRORS = [500, 502, 503, 504];

/** The faults of one workspace and what they have done so far (times served, drift applied). */
export class WorkspaceFaults {
  #requests = 0;
  #driftApplied = false;
  #served = new Map<string, number>();

  constructor(
    readonly faults: SimFaults,
    private readonly random: Random,
  ) {}

  /** Counts a sender-email request; returns the drift to apply now, once. */
  arrive(): { add: number; remove: number } | undefined {
    this.#requests += 1;
    const drift = this.faults.drift;
    if (!drift || this.#driftApplied || this.#requests <= drift.afterRequests) return undefined;
    this.#driftApplied = true;
    return { add: drift.add ?? 0, remove: drift.remove ?? 0 };
  }

  decide(page: number, mode: 'page' | 'cursor' = 'page'): FaultDecision {
    const f = this.faults;
    let holdMs = 0;
    if ((f.hangPages?.includes(page) && this.#take('hang', page, f.hangTimes)) || chance(this.random, f.hangFraction ?? 0)) {
      holdMs = f.hangMs ?? Infinity;
    }
    const refuse = this.faults.refusePagesFrom;
    if (refuse && mode === 'page' && page >= refuse.page) return { holdMs, response: { kind: 'status', status: refuse.status } };
    return { holdMs, response: this.#response(page) };
  }

  /** Whether this request (of any route) is answered by the proxy's HTML error page, and its status. */
  htmlError(): number | undefined {
    const html = this.faults.htmlErrorPage;
    if (!html || !this.#take('html', 0, html.times)) return undefined;
    return html.status ?? 502;
  }

  #response(page: number): FaultResponse {
    const f = this.faults;
    if (f.successFalse && this.#take('successFalse', 0, f.successFalse.times)) {
      return { kind: 'successFalse', message: f.successFalse.message ?? 'Something went wrong, please try again.' };
    }
    if (f.endlessBody) return { kind: 'endless' };
    if (f.trickleBodyMs !== undefined) return { kind: 'trickle', intervalMs: f.trickleBodyMs };
    if (f.failFromPage && page >= f.failFromPage.page && this.#take('fail', page, f.failFromPage.times)) {
      return { kind: 'status', status: f.failFromPage.status };
    }
    if (chance(this.random, f.rateLimitFraction ?? 0)) {
      const retryAfterSeconds = f.retryAfterSeconds === undefined ? 1 : f.retryAfterSeconds;
      return { kind: 'rateLimited', retryAfterSeconds, inBody: f.retryAfterInBody ?? false, asDate: f.retryAfterAsDate ?? false };
    }
    if (chance(this.random, f.serverErrorFraction ?? 0)) return { kind: 'status', status: pick(this.random, SERVER_ERRORS) };
    if (f.malformedPages?.includes(page) && this.#take('malformed', page, f.malformedTimes)) return { kind: 'malformed' };
    if (f.missingMetaPages?.includes(page) && this.#take('missingMeta', page, f.malformedTimes)) return { kind: 'missingMeta' };
    return { kind: 'ok' };
  }

  /** Serves an account as the fault says: without its email (or id) when it is listed. */
  present(account: RawSenderEmail): Partial<RawSenderEmail> {
    if (!this.faults.invalidItemIds?.includes(account.id)) return account;
    const { [this.faults.invalidItemField ?? 'email']: _dropped, ...rest } = account;
    return rest;
  }

  #take(kind: string, page: number, times = Infinity): boolean {
    const key = `${kind}:${page}`;
    const served = this.#served.get(key) ?? 0;
    if (served >= times) return false;
    this.#served.set(key, served + 1);
    return true;
  }
}
