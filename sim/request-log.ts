/** One request as the simulator saw it. Never holds a key: the query is logged without any key-like parameter. */
export interface SimRequest {
  /** Order of arrival, from 1. */
  seq: number;
  /** Arrival time, ms since the Unix epoch, from a monotonic clock (performance.timeOrigin + performance.now()). */
  atMs: number;
  /** When the answer was sent, same clock; undefined while in flight or when the client left first. */
  endedAtMs?: number;
  method: string;
  /** Path without the query, e.g. /api/sender-emails. */
  path: string;
  /** Query parameters (last value wins), without any parameter whose name looks like a key or token. */
  query: Record<string, string>;
  /** The workspace the bearer key is bound to (name and id); undefined for no or an unknown key. */
  workspace?: string;
  workspaceId?: number;
  /** undefined when no answer was sent (hung, or the client gave up first). */
  status?: number;
  /** Answered 429 by the instance's limiter (not by a `rateLimitFraction` fault). */
  rateLimited: boolean;
  /** For sender-email lists: how the answer was paginated. */
  pagination?: 'page' | 'cursor';
}

const SECRET_PARAMETER = /key|token|secret|password|auth/i;

/** Every request since the last clear, in order of arrival. */
export class RequestLog {
  #entries: SimRequest[] = [];
  #seq = 0;

  begin(method: string, url: URL, now: number): SimRequest {
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) if (!SECRET_PARAMETER.test(name)) query[name] = value;
    const entry: SimRequest = { seq: ++this.#seq, atMs: now, method, path: url.pathname, query, rateLimited: false };
    this.#entries.push(entry);
    return entry;
  }

  entries(): SimRequest[] {
    return this.#entries.map((entry) => ({ ...entry, query: { ...entry.query } }));
  }

  clear(): void {
    this.#entries = [];
  }
}

/** Monotonic, but on the epoch's scale so a log lines up with other timestamps. */
export function monotonicNowMs(): number {
  return performance.timeOrigin + performance.now();
}
