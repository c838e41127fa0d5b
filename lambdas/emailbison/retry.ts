export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Exponential backoff with full jitter: a uniform wait in [0, min(cap, base * 2^(retry - 1))].
 * Jitter spreads the retries of many pages (and many workspaces) that failed together.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffMs(retry: number, policy: { baseBackoffMs: number; maxRetryWaitMs: number; random: () => number }): number {
  const ceiling = Math.min(policy.maxRetryWaitMs, policy.baseBackoffMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(policy.random() * ceiling);
}

/** `Retry-After` is delta-seconds or an HTTP date (RFC 9110, section 10.2.3). */
export function parseRetryAfterHeader(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Every HTTP date format starts with the day's name; anything else Date.parse might half-read.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** EmailBison may say how long to wait in the body instead: `{"error":"rate_limited","retry_after":8}` (seconds). */
export function parseRetryAfterBody(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null || !('retry_after' in body)) return undefined;
  const seconds = Number((body as { retry_after: unknown }).retry_after);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}

/**
 * One per client, so one per workspace key: when any request is told to wait, every request
 * of the workspace waits at the gate until that time, instead of each learning it from its own 429.
 */
export class RateLimitGate {
  #untilMs = 0;
  #generation = 0;
  #closedMs = 0;

  constructor(
    private readonly sleep: Sleep,
    private readonly now: () => number = Date.now,
  ) {}

  /** Total time the gate has been closed: wall-clock time the workspace spent rate limited. */
  get closedMs(): number {
    return this.#closedMs;
  }

  /** Closes the gate for `waitMs` from now, unless it is already closed until later. */
  close(waitMs: number): void {
    const now = this.now();
    const untilMs = now + waitMs;
    if (untilMs <= this.#untilMs) return;
    this.#closedMs += untilMs - Math.max(this.#untilMs, now);
    this.#untilMs = untilMs;
    this.#generation += 1;
  }

  async pass(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const remainingMs = this.#untilMs - this.now();
      if (remainingMs <= 0) return;
      const generation = this.#generation;
      await this.sleep(remainingMs, signal);
      if (generation === this.#generation) {
        // Nobody closed it for longer while we slept: the wait is over for everyone. Opening it
        // here (not by the clock) keeps an injected, scaled-down sleep consistent for all waiters.
        this.#untilMs = Math.min(this.#untilMs, this.now());
        return;
      }
    }
  }
}

/**
 * Transport failures that say the instance cannot be reached at all, which the host
 * budget's breaker counts (`recordConnectionFailure`): refused, reset before an answer,
 * no route, no DNS, and the connect and headers timeouts of an instance that accepts
 * nothing or answers nothing. A stalled body is not one: the host did answer.
 */
const CONNECTION_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_SOCKET',
]);

export function isConnectionFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_FAILURE_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
