import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  backoffMs,
  isConnectionFailure,
  parseRetryAfterBody,
  parseRetryAfterHeader,
  RateLimitGate,
} from '../../../lambdas/emailbison/retry';

describe('backoffMs', () => {
  const policy = (random: number) => ({ baseBackoffMs: 500, maxRetryWaitMs: 60_000, random: () => random });

  it('doubles the ceiling with each retry and draws uniformly below it (full jitter)', () => {
    expect([1, 2, 3, 4].map((retry) => backoffMs(retry, policy(0.999_999)))).toEqual([499, 999, 1_999, 3_999]);
    expect(backoffMs(4, policy(0))).toBe(0);
    expect(backoffMs(2, policy(0.5))).toBe(500);
  });

  it('never exceeds maxRetryWaitMs', () => {
    expect(backoffMs(30, policy(0.999_999))).toBeLessThan(60_000);
  });
});

describe('parseRetryAfterHeader', () => {
  const now = Date.parse('2025-10-01T09:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfterHeader('8', now)).toBe(8_000);
    expect(parseRetryAfterHeader(' 0 ', now)).toBe(0);
    expect(parseRetryAfterHeader('1.5', now)).toBe(1_500);
  });

  it('reads an HTTP date as the time left until it', () => {
    expect(parseRetryAfterHeader('Wed, 01 Oct 2025 09:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterHeader('Wed, 01 Oct 2025 08:59:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfterHeader(undefined, now)).toBeUndefined();
    expect(parseRetryAfterHeader('', now)).toBeUndefined();
    expect(parseRetryAfterHeader('soon', now)).toBeUndefined();
    expect(parseRetryAfterHeader('-5', now)).toBeUndefined();
  });
});

describe('parseRetryAfterBody', () => {
  it('reads retry_after seconds from a JSON body', () => {
    expect(parseRetryAfterBody({ error: 'rate_limited', retry_after: 8 })).toBe(8_000);
    expect(parseRetryAfterBody({ retry_after: '2' })).toBe(2_000);
  });

  it('ignores bodies without a usable retry_after', () => {
    expect(parseRetryAfterBody(undefined)).toBeUndefined();
    expect(parseRetryAfterBody({ message: 'Too Many Attempts.' })).toBeUndefined();
    expect(parseRetryAfterBody({ retry_after: 'later' })).toBeUndefined();
    expect(parseRetryAfterBody({ retry_after: -1 })).toBeUndefined();
  });
});

describe('RateLimitGate', () => {
  function fakeClock() {
    let now = 0;
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    };
    return { now: () => now, sleep, sleeps, advance: (ms: number) => (now += ms) };
  }

  it('lets requests through at once while open', async () => {
    const clock = fakeClock();
    const gate = new RateLimitGate(clock.sleep, clock.now);

    await gate.pass();
    expect(clock.sleeps).toEqual([]);
    expect(gate.closedMs).toBe(0);
  });

  it('holds every request until the time it was closed for', async () => {
    const clock = fakeClock();
    const gate = new RateLimitGate(clock.sleep, clock.now);
    gate.close(1_000);

    await gate.pass();
    expect(clock.now()).toBe(1_000);
    await gate.pass();
    expect(clock.sleeps).toEqual([1_000]);
  });

  it('keeps the later of two closing times and counts closed time once', () => {
    const clock = fakeClock();
    const gate = new RateLimitGate(clock.sleep, clock.now);
    gate.close(1_000);
    clock.advance(200);
    gate.close(500); // until 700: inside the current closure
    gate.close(2_000); // until 2,200: extends it by 1,200

    expect(gate.closedMs).toBe(2_200);
  });

  it('opens for everyone when the first waiter wakes, so a scaled-down sleep stays consistent', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const gate = new RateLimitGate(
      (ms) =>
        new Promise((resolve) => {
          sleeps.push(ms);
          setImmediate(() => {
            now += ms / 100;
            resolve();
          });
        }),
      () => now,
    );
    gate.close(1_000);

    await Promise.all([gate.pass(), gate.pass(), gate.pass()]);
    await gate.pass(); // the clock says 10 of 1,000 ms have passed, but the wait is over
    expect(sleeps).toEqual([1_000, 1_000, 1_000]);
  });

  it('stops waiting when the signal aborts', async () => {
    const gate = new RateLimitGate(
      (_ms, signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
    );
    gate.close(60_000);
    const controller = new AbortController();
    const waiting = gate.pass(controller.signal);
    controller.abort(new Error('stop'));

    await expect(waiting).rejects.toThrow('stop');
  });
});

describe('isConnectionFailure', () => {
  it('recognises a refused connection as undici reports it', async () => {
    const refused = await request('http://127.0.0.1:1/api/sender-emails').catch((error: unknown) => error);
    expect(isConnectionFailure(refused)).toBe(true);
  });

  it('recognises connect and headers timeouts, also as the cause of another error', () => {
    expect(isConnectionFailure(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))).toBe(true);
    expect(
      isConnectionFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }) })),
    ).toBe(true);
  });

  it('does not count a host that answered: a stalled body, an HTTP status, anything else', () => {
    expect(isConnectionFailure(Object.assign(new Error('x'), { code: 'UND_ERR_BODY_TIMEOUT' }))).toBe(false);
    expect(isConnectionFailure(new Error('HTTP 503'))).toBe(false);
    expect(isConnectionFailure(undefined)).toBe(false);
  });
});
