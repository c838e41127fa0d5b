/** `requests` per `windowSeconds`, for the whole instance. */
export interface SimRateLimit {
  requests: number;
  /** Length of the fixed window; fractions allowed (tests), default 1 in the CLI. */
  windowSeconds: number;
}

export type LimiterVerdict =
  | { allowed: true; limit: number; remaining: number }
  | { allowed: false; limit: number; retryAfterSeconds: number; resetAtSeconds: number };

/**
 * Laravel's `RateLimiter` as `ThrottleRequests` uses it: a fixed window that opens at the first
 * hit after the previous one expired (not aligned to the clock), one counter for every caller
 * it keys together (here: the whole instance, every workspace and key), and a rejected request
 * is not a hit (`tooManyAttempts` is checked before `hit`), so hammering does not extend the wait.
 */
export class FixedWindowLimiter {
  #windowEndsAtMs = 0;
  #hits = 0;

  constructor(
    private readonly rate: SimRateLimit,
    private readonly now: () => number,
  ) {
    if (!(rate.requests >= 1) || !Number.isInteger(rate.requests))
      throw new Error(`rate limit: requests must be a whole number >= 1, got ${rate.requests}`);
    if (!(rate.windowSeconds > 0)) throw new Error(`rate limit: windowSeconds must be > 0, got ${rate.windowSeconds}`);
  }

  attempt(): LimiterVerdict {
    const now = this.now();
    if (now >= this.#windowEndsAtMs) {
      this.#windowEndsAtMs = now + this.rate.windowSeconds * 1000;
      this.#hits = 0;
    }
    const limit = this.rate.requests;
    if (this.#hits >= limit) {
      // Laravel's availableIn() counts whole seconds; a client told 0 would retry at once.
      const retryAfterSeconds = Math.max(1, Math.ceil((this.#windowEndsAtMs - now) / 1000));
      return { allowed: false, limit, retryAfterSeconds, resetAtSeconds: Math.ceil(this.#windowEndsAtMs / 1000) };
    }
    this.#hits += 1;
    return { allowed: true, limit, remaining: limit - this.#hits };
  }
}
