import { afterAll, describe, expect, it } from 'vitest';
import { createSql, type Sql } from '../../../lambdas/db/client';
import {
  createHostBudget,
  EmailBisonUnreachableError,
  holdBeforeReset,
  instanceHost,
  type HostBudgetOptions,
} from '../../../lambdas/emailbison/host-budget';
import { createTestDatabase } from '../../helpers/database';

const db = await createTestDatabase();
const clients: Sql[] = [];
afterAll(async () => {
  await Promise.all(clients.map((client) => client.end({ timeout: 1 })));
});

/** A client of its own, as each Lambda of the Map has. */
function lambdaSql(): Sql {
  const sql = createSql({ url: db.url, ssl: 'disable', max: 2 });
  clients.push(sql);
  return sql;
}

function budget(options: Partial<HostBudgetOptions> & { host: string }) {
  return createHostBudget({ sql: lambdaSql(), workspace: 'Acme', maxRps: 50, ...options });
}

async function databaseNowMs(): Promise<number> {
  const [row] = await db.sql<{ ms: number }[]>`select extract(epoch from clock_timestamp())::float8 * 1000 as ms`;
  return row.ms;
}

async function row(host: string) {
  const [found] = await db.sql<{ tokens: number; pause_reason: string | null; consecutive_failures: number }[]>`
    select tokens, pause_reason, consecutive_failures from emailbison_host_budget where host = ${host}`;
  return found;
}

/**
 * Grant times in whole microseconds, the database's resolution: an epoch in ms as a double
 * is off by up to 0.25 us, enough to blur "exactly 20 ms apart".
 */
function micros(times: number[]): number[] {
  return times.map((ms) => Math.round(ms * 1000)).sort((a, b) => a - b);
}

/** The most acquisitions any half-open window [t, t + 1 s) starting at an acquisition saw. */
function busiestSlidingSecond(times: number[]): number {
  const sorted = micros(times);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end] < sorted[start] + 1_000_000) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/** The most acquisitions in one wall-clock second [k, k + 1), as a fixed-window limiter counts them. */
function busiestFixedSecond(times: number[]): number {
  const counts = new Map<number, number>();
  for (const time of micros(times)) counts.set(Math.floor(time / 1_000_000), (counts.get(Math.floor(time / 1_000_000)) ?? 0) + 1);
  return Math.max(...counts.values());
}

describe('HostBudget: one request rate per EmailBison instance, shared through Postgres', () => {
  it('keeps four Lambdas with three requests in flight each under 50 per second, in every second, and close to it', async () => {
    const host = 'hammer.example.com';
    const lambdas = Array.from({ length: 4 }, (_, i) => budget({ host, workspace: `Workspace ${i}`, maxRps: 50 }));
    const granted: number[] = [];
    const stopAt = Date.now() + 1_600;
    await Promise.all(
      lambdas.flatMap((lambda) =>
        Array.from({ length: 3 }, async () => {
          while (Date.now() < stopAt) granted.push((await lambda.acquire())!);
        }),
      ),
    );

    expect(busiestSlidingSecond(granted)).toBeLessThanOrEqual(50);
    expect(busiestFixedSecond(granted)).toBeLessThanOrEqual(50);
    const sorted = micros(granted);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i] - sorted[i - 1]).toBeGreaterThanOrEqual(20_000);
    // Loose on purpose (a shared, loaded machine): the bench measures the real ratio.
    const spanSeconds = (sorted.at(-1)! - sorted[0]) / 1_000_000;
    expect(sorted.length - 1).toBeGreaterThanOrEqual(0.7 * 50 * spanSeconds);
    expect(spanSeconds).toBeGreaterThan(1);
  });

  it('makes the host row on first use', async () => {
    const host = 'first-use.example.com';
    expect(await row(host)).toBeUndefined();
    await budget({ host }).acquire();
    expect(await row(host)).toMatchObject({ consecutive_failures: 0 });
  });

  it('keeps two hosts apart: a pause of one does not hold the other', async () => {
    const paused = budget({ host: 'one.example.com' });
    const other = budget({ host: 'two.example.com' });
    await paused.pause(30, 'HTTP 429, Retry-After 30 s');
    await other.acquire();
    await other.acquire();
    expect(other.waitedMs).toBeLessThan(1_000);
  });

  it("pauses every Lambda of the host on one's Retry-After, and a shorter pause does not cut a longer one", async () => {
    const host = 'pause.example.com';
    const [told, other] = [budget({ host }), budget({ host })];
    const before = await databaseNowMs();
    await told.pause(1, 'HTTP 429 for workspace "Acme", Retry-After 1 s');
    await other.pause(0.1, 'a shorter one');
    expect((await row(host)).pause_reason).toBe('HTTP 429 for workspace "Acme", Retry-After 1 s');
    const grantedAt = (await other.acquire())!;
    expect(grantedAt - before).toBeGreaterThanOrEqual(1_000);
    expect(other.waitedMs).toBeGreaterThan(0);
  });

  it('stops waiting when the signal aborts, with its reason', async () => {
    const host = 'abort.example.com';
    const waiting = budget({ host });
    await waiting.pause(60, 'a long Retry-After');
    const controller = new AbortController();
    const reason = new Error('the run was cancelled');
    setTimeout(() => controller.abort(reason), 100);
    await expect(waiting.acquire(controller.signal)).rejects.toBe(reason);
    await expect(waiting.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
  }, 10_000);

  it('spends X-RateLimit-Remaining at the full rate, and holds the host only when it is smaller than what it would send before the reset', async () => {
    const host = 'remaining.example.com';
    const lambda = budget({ host, maxRps: 5 });
    await lambda.acquire();
    const pausedMs = async () => {
      const [found] = await db.sql<{ ms: number }[]>`
        select case when paused_until > clock_timestamp() then extract(epoch from paused_until - clock_timestamp()) * 1000 else 0 end::float8 as ms
        from emailbison_host_budget where host = ${host}`;
      return found.ms;
    };
    await lambda.observeRemaining(1); // no reset time (Laravel's answers but its 429): nothing is known to be smaller
    await lambda.observeRemaining(0);
    expect(await pausedMs()).toBe(0);
    await lambda.observeRemaining(5, 1_000); // 5 left, 5 a second for 1 s: enough
    expect(await pausedMs()).toBe(0);
    await lambda.observeRemaining(2, 1_000); // 2 left would be spent in 0.4 s: wait 0.6 s, then send them
    expect(await pausedMs()).toBeGreaterThan(450);
    expect(await pausedMs()).toBeLessThanOrEqual(600);
    expect((await row(host)).pause_reason).toMatch(/^X-RateLimit-Remaining 2 until the window resets \(workspace "Acme"\)$/);
  });

  it('holdBeforeReset: the wait that makes what is left last until the reset', () => {
    expect(holdBeforeReset(5, 5, 1_000)).toBe(0);
    expect(holdBeforeReset(5, 0, 1_000)).toBe(1);
    expect(holdBeforeReset(5, 2, 1_000)).toBeCloseTo(0.6);
    expect(holdBeforeReset(5, 0, undefined)).toBe(0);
    expect(holdBeforeReset(Infinity, 0, 2_000)).toBe(2);
    expect(holdBeforeReset(Infinity, 3, 2_000)).toBe(0);
  });
});

describe('HostBudget: the dead-instance breaker', () => {
  it('opens after three connection failures in a row across Lambdas, and then every Lambda fails fast, naming workspace and host', async () => {
    const host = 'dead.example.com:8443';
    const [a, b, c, d] = [budget({ host }), budget({ host }), budget({ host }), budget({ host, workspace: 'Beta Ltd' })];
    expect(await a.recordConnectionFailure()).toEqual({ consecutiveFailures: 1, breakerOpen: false });
    expect(await b.recordConnectionFailure()).toEqual({ consecutiveFailures: 2, breakerOpen: false });
    await d.acquire(); // two failures: still trying
    expect(await c.recordConnectionFailure()).toEqual({ consecutiveFailures: 3, breakerOpen: true });

    const refused = await d.acquire().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EmailBisonUnreachableError);
    expect(refused).toMatchObject({
      name: 'EmailBisonUnreachableError',
      code: 'SS_EMAILBISON_UNREACHABLE',
      retryable: false,
      workspace: 'Beta Ltd',
      host,
    });
    const error = refused as EmailBisonUnreachableError;
    expect(error.message).toContain('"Beta Ltd"');
    expect(error.message).toContain(host);
    expect(error.retryAfterMs).toBeGreaterThan(290_000);
    expect(d.waitedMs).toBe(0);
  });

  it('closes on a success, and counts failures again from zero', async () => {
    const host = 'flaky.example.com';
    const [a, b] = [budget({ host }), budget({ host })];
    for (let i = 0; i < 3; i++) await a.recordConnectionFailure();
    await expect(b.acquire()).rejects.toMatchObject({ code: 'SS_EMAILBISON_UNREACHABLE' });
    await a.recordSuccess(); // a request in flight when it opened came back
    await b.acquire();
    expect((await row(host)).consecutive_failures).toBe(0);
    expect(await b.recordConnectionFailure()).toEqual({ consecutiveFailures: 1, breakerOpen: false });
  });

  it('lets one request through once the open time is over, and opens again at its first failure', async () => {
    const host = 'half-open.example.com';
    const lambda = budget({ host, breakerOpenMs: 300 });
    for (let i = 0; i < 3; i++) await lambda.recordConnectionFailure();
    await expect(lambda.acquire()).rejects.toMatchObject({ code: 'SS_EMAILBISON_UNREACHABLE' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await lambda.acquire();
    expect(await lambda.recordConnectionFailure()).toEqual({ consecutiveFailures: 4, breakerOpen: true });
    await expect(lambda.acquire()).rejects.toMatchObject({ code: 'SS_EMAILBISON_UNREACHABLE' });
  });

  it('costs no statement for a success when no failure was seen', async () => {
    const closed = createSql({ url: db.url, ssl: 'disable', max: 1 });
    await closed.end();
    const lambda = createHostBudget({ sql: closed, host: 'healthy.example.com', workspace: 'Acme', maxRps: 5 });
    await lambda.recordSuccess();
  });
});

describe('HostBudget without a cap (maxRps 0)', () => {
  it('issues no statement to acquire', async () => {
    const closed = createSql({ url: db.url, ssl: 'disable', max: 1 });
    await closed.end(); // any statement on it would reject
    const uncapped = createHostBudget({ sql: closed, host: 'uncapped.example.com', workspace: 'Acme', maxRps: 0 });
    for (let i = 0; i < 100; i++) expect(await uncapped.acquire()).toBeUndefined();
    await uncapped.observeRemaining(0);
    await uncapped.recordSuccess();
  });

  it('still shares its pauses and failures with capped Lambdas, and honours its own', async () => {
    const host = 'mixed.example.com';
    const slept: number[] = [];
    const uncapped = createHostBudget({
      sql: lambdaSql(),
      host,
      workspace: 'Acme',
      maxRps: 0,
      sleep: async (ms) => {
        slept.push(ms);
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    const capped = budget({ host });
    const before = await databaseNowMs();
    await uncapped.pause(0.5, 'HTTP 429, Retry-After 0.5 s');
    await uncapped.acquire();
    expect(slept.length).toBeGreaterThan(0);
    expect(slept[0]).toBeGreaterThan(0);
    expect(slept[0]).toBeLessThanOrEqual(500);
    expect(await capped.acquire()).toBeGreaterThanOrEqual(before + 500);

    for (let i = 0; i < 3; i++) await uncapped.recordConnectionFailure();
    await expect(uncapped.acquire()).rejects.toMatchObject({ code: 'SS_EMAILBISON_UNREACHABLE', host });
    await expect(capped.acquire()).rejects.toMatchObject({ code: 'SS_EMAILBISON_UNREACHABLE', host });
  });
});

describe('HostBudget options', () => {
  it('names every wrong option in one ConfigError', () => {
    expect(() => createHostBudget({ sql: db.sql, host: ' ', workspace: 'Acme', maxRps: -1, burst: 0 })).toThrow(
      expect.objectContaining({
        code: 'SS_CONFIG_INVALID',
        message: expect.stringMatching(/host must not be empty.*maxRps must be a number >= 0.*burst must be a number >= 1/),
      }),
    );
  });

  it('keys the budget by host and port, in lower case', () => {
    expect(instanceHost('https://Send.Example.com/api')).toBe('send.example.com');
    expect(instanceHost('http://127.0.0.1:4010')).toBe('127.0.0.1:4010');
  });
});
