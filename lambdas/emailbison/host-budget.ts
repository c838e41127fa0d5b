import { setTimeout as delay } from 'node:timers/promises';
import type { Sql } from '../db/client';
import { ConfigError, EmailBisonUnreachableError } from '../errors';
import type { Sleep } from './retry';

/*
 * The request budget of one EmailBison instance (host), shared by every sync of it.
 *
 * Why Postgres: on AWS each workspace of the Map syncs in its own Lambda, a separate
 * process, often in a separate container. A limiter in memory would pass a local test
 * (one process) and let N Lambdas send N times the cap to the instance. Postgres is
 * the one thing all of them already share, and at a few requests a second (tests: ~50)
 * one small statement per request costs little next to the HTTP round trip it guards.
 *
 * Every time is the database's clock (`clock_timestamp()`), so processes on machines
 * whose clocks disagree still agree on the budget; a process only ever learns
 * durations ("wait 240 ms") from it.
 */

export interface HostBudgetOptions {
  sql: Sql;
  /** The instance: the base URL's host (with its port, if any). See `instanceHost`. */
  host: string;
  /** The workspace this client syncs: named in the unreachable error. */
  workspace: string;
  /** Requests per second to the host, across every process. 0 = no cap: `acquire` issues no statement. */
  maxRps: number;
  /** Tokens that may be saved up while idle. Default 1: requests spaced at least 1/maxRps apart. */
  burst?: number;
  /** Connection failures in a row (across all syncs of the host) that open the breaker. Default 3. */
  breakerThreshold?: number;
  /** How long an open breaker fails every sync of the host fast. Default 300 000 (5 minutes). */
  breakerOpenMs?: number;
  /**
   * How far ahead a request may reserve its slot, then sleep locally until it. Default 100 ms:
   * far more than the statement's round trip it hides, and short enough that a pause set by an
   * answer to the request before (a 429, a spent window, see `observeRemaining`) still holds
   * the next one at any rate up to 10 a second. A pause set meanwhile does not stop the
   * requests already holding a slot: at most about this many ms of them go out.
   */
  reserveAheadMs?: number;
  /** A longer pause (e.g. a Retry-After date far ahead) is clamped to this. Default 600. */
  maxPauseSeconds?: number;
  /** How the budget waits; must reject when the signal aborts. Default: a timer. */
  sleep?: Sleep;
  /** Local clock, used only without a cap (maxRps 0), where nothing is read from the database. */
  now?: () => number;
}

export interface HostBudget {
  readonly host: string;
  /**
   * Waits for the host's next request slot and takes it. Resolves with the database
   * time (epoch ms) the slot was taken at, or undefined without a cap. Throws
   * `EmailBisonUnreachableError` at once while the breaker is open, and the signal's
   * reason when it aborts.
   */
  acquire(signal?: AbortSignal): Promise<number | undefined>;
  /** A 429's Retry-After: every sync of the host waits until then (a longer pause already set wins). */
  pause(seconds: number, reason: string): Promise<void>;
  /**
   * A response's X-RateLimit-Remaining, and when its window resets if the answer said: holds the
   * host only while what is left is smaller than what it would send before the reset. `sent`:
   * the window's size (X-RateLimit-Limit) and when the request went out (database clock, see
   * `clockOffsetMs`), from which the budget learns when a window opened and so when it ends.
   */
  observeRemaining(remaining: number, resetInMs?: number, sent?: { limit: number; sentAtMs: number }): Promise<void>;
  /** The database's clock minus this process's (ms), as of the last slot taken; 0 before any. */
  readonly clockOffsetMs: number;
  /** A request could not reach the host (refused, connect or headers timeout, DNS). */
  recordConnectionFailure(): Promise<{ consecutiveFailures: number; breakerOpen: boolean }>;
  /** A request got an HTTP answer. No statement unless failures were seen since the last success. */
  recordSuccess(): Promise<void>;
  /** Time spent waiting in `acquire` (pauses and token waits), for the client's stats. */
  readonly waitedMs: number;
}

export const HOST_BUDGET_DEFAULTS = {
  burst: 1,
  breakerThreshold: 3,
  breakerOpenMs: 300_000,
  maxPauseSeconds: 600,
} as const;

export { EmailBisonUnreachableError };

/** The budget's key for a base URL: host and port, lower case (two ports are two instances). */
export function instanceHost(baseUrl: string): string {
  return new URL(baseUrl).host.toLowerCase();
}

/** See HostBudgetOptions.reserveAheadMs. */
const RESERVE_AHEAD_MS = 100;

/** Waits longer than this are taken in slices, so a breaker opened meanwhile is seen within one. */
const MAX_WAIT_SLICE_MS = 5_000;

export function createHostBudget(options: HostBudgetOptions): HostBudget {
  const settings = resolveSettings(options);
  return settings.maxRps === 0 ? uncappedBudget(settings) : sharedBudget(settings);
}

type Settings = Required<Omit<HostBudgetOptions, 'sleep' | 'now'>> & { sleep: Sleep; now: () => number };

function resolveSettings(options: HostBudgetOptions): Settings {
  const settings: Settings = {
    ...HOST_BUDGET_DEFAULTS,
    sleep: (ms, signal) => delay(ms, undefined, { signal }),
    now: Date.now,
    ...withoutUndefined(options),
    sql: options.sql,
    host: options.host,
    workspace: options.workspace,
    maxRps: options.maxRps,
    reserveAheadMs: options.reserveAheadMs ?? (options.maxRps > 0 ? RESERVE_AHEAD_MS : 0),
  };
  const wrong: string[] = [];
  if (!settings.host?.trim()) wrong.push('host must not be empty');
  if (!(Number.isFinite(settings.maxRps) && settings.maxRps >= 0)) wrong.push('maxRps must be a number >= 0');
  if (!(Number.isFinite(settings.burst) && settings.burst >= 1)) wrong.push('burst must be a number >= 1');
  if (!(Number.isInteger(settings.breakerThreshold) && settings.breakerThreshold >= 1))
    wrong.push('breakerThreshold must be a whole number >= 1');
  if (!(Number.isFinite(settings.breakerOpenMs) && settings.breakerOpenMs >= 0)) wrong.push('breakerOpenMs must be a number >= 0');
  if (!(Number.isFinite(settings.reserveAheadMs) && settings.reserveAheadMs >= 0)) wrong.push('reserveAheadMs must be a number >= 0');
  if (!(Number.isFinite(settings.maxPauseSeconds) && settings.maxPauseSeconds >= 0)) wrong.push('maxPauseSeconds must be a number >= 0');
  if (wrong.length > 0) {
    throw new ConfigError(`EmailBison host budget for workspace "${options.workspace}": ${wrong.join('; ')}`, {
      workspace: options.workspace,
    });
  }
  return { ...settings, host: settings.host.toLowerCase() };
}

interface WaitState {
  breaker_ms: number;
  pause_ms: number;
  token_ms: number;
  consecutive_failures: number;
}

/**
 * Slots are spaced 2% wider than 1/maxRps. A request leaves a few ms after its slot (the
 * statement's round trip, the event loop), so with exact spacing a one-second window at the
 * instance's limit catches one request too many now and then, and that 429 pauses the whole
 * host. 2% tolerates 20 ms of such jitter at any rate.
 */
export const SEND_JITTER_MARGIN = 0.02;

function sharedBudget(settings: Settings): HostBudget {
  const { sql, host, workspace, burst, sleep } = settings;
  const rate = settings.maxRps * (1 - SEND_JITTER_MARGIN);
  let rowEnsured = false;
  // Set when this process has seen a failure count above 0, so that a success resets it;
  // otherwise recordSuccess costs nothing and a request stays at one statement.
  let failuresSeen = false;
  let waitedMs = 0;
  let clockOffsetMs = 0;

  // Tokens in the bucket at the statement's time `c.at`, refilled at this caller's rate since
  // refilled_at. Not clamped at 0 elapsed: refilled_at can lie ahead (a reserved slot, see
  // `take`), and then the bucket is short by what that slot still has to refill.
  const refilled = sql`least(${burst}::float8, b.tokens + ${rate}::float8 * extract(epoch from c.at - b.refilled_at)::float8)`;
  // Seconds from `c.at` until the bucket holds a whole token: the next free slot.
  const untilSlot = sql`(greatest(0, 1 - ${refilled}) / ${rate}::float8)`;
  const reserveAheadSeconds = settings.reserveAheadMs / 1000;

  async function ensureRow(): Promise<void> {
    await sql`
      insert into emailbison_host_budget (host, tokens)
      values (${host}, ${burst})
      on conflict (host) do nothing
    `;
    rowEnsured = true;
  }

  /**
   * The one statement of a request: takes the next slot if it is due within
   * `reserveAheadMs`, the host is not paused and the breaker is closed. The token is
   * accounted at the slot's time (refilled_at moves to it), and the caller sleeps the rest
   * locally: the statement's round trip then overlaps the wait instead of adding to every
   * interval, which at 50 requests/s cost a fifth of the rate.
   * Concurrent takers serialise on the row lock, and Postgres re-checks the WHERE on the
   * row a winner left, so no slot is taken twice. With burst 1 the bucket is empty after
   * every take and the next slot is a whole token (1/rate) later: successive slots are at
   * least 1/rate apart, so no one-second window holds more than the cap.
   */
  async function take(): Promise<{ at_ms: number; delay_ms: number; consecutive_failures: number } | undefined> {
    const [row] = await sql<{ at_ms: number; delay_ms: number; consecutive_failures: number }[]>`
      update emailbison_host_budget as b
      set tokens = greatest(${refilled}, 1) - 1,
          refilled_at = greatest(b.refilled_at, c.at + make_interval(secs => ${untilSlot})),
          updated_at = c.at
      from (select clock_timestamp() as at) as c
      where b.host = ${host}
        and ${untilSlot} <= ${reserveAheadSeconds}::float8
        and b.paused_until <= c.at
        and b.breaker_open_until <= c.at
      returning
        extract(epoch from b.refilled_at)::float8 * 1000 as at_ms,
        greatest(0, extract(epoch from b.refilled_at - clock_timestamp())::float8 * 1000) as delay_ms,
        b.consecutive_failures
    `;
    return row;
  }

  /** Why no slot was taken, as durations from the database's now. */
  async function waitState(): Promise<WaitState | undefined> {
    const [row] = await sql<WaitState[]>`
      select
        case when b.breaker_open_until > c.at then extract(epoch from b.breaker_open_until - c.at)::float8 * 1000 else 0 end as breaker_ms,
        case when b.paused_until > c.at then extract(epoch from b.paused_until - c.at)::float8 * 1000 else 0 end as pause_ms,
        greatest(0, ${untilSlot} - ${reserveAheadSeconds}::float8) * 1000 as token_ms,
        b.consecutive_failures
      from emailbison_host_budget as b, (select clock_timestamp() as at) as c
      where b.host = ${host}
    `;
    return row;
  }

  async function acquire(signal?: AbortSignal): Promise<number | undefined> {
    signal?.throwIfAborted();
    for (;;) {
      if (!rowEnsured) await ensureRow();
      const granted = await take();
      if (granted) {
        // The slot is `delay_ms` after the statement's answer on both clocks.
        clockOffsetMs = granted.at_ms - (Date.now() + granted.delay_ms);
        failuresSeen ||= granted.consecutive_failures > 0;
        if (granted.delay_ms > 0) {
          await sleepOrAbort(sleep, granted.delay_ms, signal);
          waitedMs += granted.delay_ms;
        }
        return granted.at_ms;
      }
      const state = await waitState();
      if (!state) {
        rowEnsured = false; // someone deleted the row: make it again
        continue;
      }
      failuresSeen ||= state.consecutive_failures > 0;
      if (state.breaker_ms > 0) {
        throw new EmailBisonUnreachableError({ workspace, host, failures: state.consecutive_failures, retryAfterMs: state.breaker_ms });
      }
      // At least 1 ms: a token due "now" by the float arithmetic but not yet by the row is a busy loop otherwise.
      const waitMs = Math.min(MAX_WAIT_SLICE_MS, Math.max(1, Math.ceil(Math.max(state.pause_ms, state.token_ms))));
      await sleepOrAbort(sleep, waitMs, signal);
      waitedMs += waitMs;
    }
  }

  async function pause(seconds: number, reason: string): Promise<void> {
    const clamped = clampPause(seconds, settings.maxPauseSeconds);
    if (clamped === 0) return;
    await sql`
      insert into emailbison_host_budget as b (host, tokens, paused_until, pause_reason)
      values (${host}, ${burst}, clock_timestamp() + make_interval(secs => ${clamped}::float8), ${reason})
      on conflict (host) do update set
        paused_until = greatest(b.paused_until, excluded.paused_until),
        pause_reason = case when excluded.paused_until > b.paused_until then excluded.pause_reason else b.pause_reason end,
        updated_at = clock_timestamp()
    `;
    rowEnsured = true;
  }

  async function observeRemaining(remaining: number, resetInMs?: number, sent?: { limit: number; sentAtMs: number }): Promise<void> {
    if (resetInMs !== undefined) {
      const seconds = holdBeforeReset(settings.maxRps, remaining, resetInMs);
      if (seconds > 0) await pause(seconds, `X-RateLimit-Remaining ${remaining} until the window resets (workspace "${workspace}")`);
      return;
    }
    if (!sent || !(Number.isInteger(sent.limit) && sent.limit >= 1) || !Number.isFinite(sent.sentAtMs)) return;
    // This request opened the instance's window: it ends one window (limit / rate) after it arrived.
    if (remaining === sent.limit - 1) {
      await sql`
        update emailbison_host_budget set window_opened_at = to_timestamp(${sent.sentAtMs / 1000}::float8)
        where host = ${host}
      `;
    }
    // The window is spent: what the host would send before it ends is refused, so it sends nothing
    // until then. At exactly the instance's rate that is the next slot anyway; it matters when the
    // window opened late (a send, or the instance, lagging) and the schedule has not caught up.
    if (remaining === 0) {
      const windowSeconds = sent.limit / settings.maxRps;
      const endsAfterSeconds = windowSeconds * (1 + SEND_JITTER_MARGIN);
      await sql`
        update emailbison_host_budget as b set
          paused_until = greatest(b.paused_until, b.window_opened_at + make_interval(secs => ${endsAfterSeconds}::float8)),
          pause_reason = ${`X-RateLimit-Remaining 0 until the window resets (workspace "${workspace}")`},
          updated_at = clock_timestamp()
        where b.host = ${host}
          and b.window_opened_at > clock_timestamp() - make_interval(secs => ${windowSeconds}::float8)
          and b.window_opened_at + make_interval(secs => ${endsAfterSeconds}::float8) > b.paused_until
      `;
    }
  }

  async function recordConnectionFailure(): Promise<{ consecutiveFailures: number; breakerOpen: boolean }> {
    const [row] = await sql<{ consecutive_failures: number; breaker_open: boolean }[]>`
      insert into emailbison_host_budget as b (host, tokens, consecutive_failures, breaker_open_until)
      values (
        ${host}, ${burst}, 1,
        case when 1 >= ${settings.breakerThreshold}::int
          then clock_timestamp() + make_interval(secs => ${settings.breakerOpenMs / 1000}::float8)
          else '-infinity' end
      )
      on conflict (host) do update set
        consecutive_failures = b.consecutive_failures + 1,
        breaker_open_until = case when b.consecutive_failures + 1 >= ${settings.breakerThreshold}::int
          then greatest(b.breaker_open_until, clock_timestamp() + make_interval(secs => ${settings.breakerOpenMs / 1000}::float8))
          else b.breaker_open_until end,
        updated_at = clock_timestamp()
      returning consecutive_failures, breaker_open_until > clock_timestamp() as breaker_open
    `;
    rowEnsured = true;
    failuresSeen = true;
    return { consecutiveFailures: row.consecutive_failures, breakerOpen: row.breaker_open };
  }

  async function recordSuccess(): Promise<void> {
    if (!failuresSeen) return;
    // An answer from the host closes the breaker too: a request that was in flight when
    // it opened came back, so the instance is alive after all.
    await sql`
      update emailbison_host_budget
      set consecutive_failures = 0, breaker_open_until = '-infinity', updated_at = clock_timestamp()
      where host = ${host} and (consecutive_failures > 0 or breaker_open_until > '-infinity')
    `;
    failuresSeen = false;
  }

  return {
    host,
    acquire,
    pause,
    observeRemaining,
    recordConnectionFailure,
    recordSuccess,
    get waitedMs() {
      return waitedMs;
    },
    get clockOffsetMs() {
      return clockOffsetMs;
    },
  };
}

/**
 * No cap (maxRps 0, e.g. against the built-in simulator): `acquire` never touches the
 * database. Pauses and failures are still written, so capped syncs of the same host see
 * them, and this process honours what it learned itself: its own pauses, and the breaker
 * as its own failures reported it (so after the breaker opens, at most one more request).
 */
function uncappedBudget(settings: Settings): HostBudget {
  const shared = sharedBudget(settings);
  const { now, sleep, host, workspace } = settings;
  let pausedUntilMs = 0;
  let breaker = { untilMs: 0, consecutiveFailures: 0 };
  let waitedMs = 0;

  async function pause(seconds: number, reason: string): Promise<void> {
    pausedUntilMs = Math.max(pausedUntilMs, now() + clampPause(seconds, settings.maxPauseSeconds) * 1000);
    await shared.pause(seconds, reason);
  }

  return {
    host,
    async acquire(signal?: AbortSignal) {
      signal?.throwIfAborted();
      for (;;) {
        const breakerMs = breaker.untilMs - now();
        if (breakerMs > 0) {
          throw new EmailBisonUnreachableError({ workspace, host, failures: breaker.consecutiveFailures, retryAfterMs: breakerMs });
        }
        const waitMs = Math.min(MAX_WAIT_SLICE_MS, pausedUntilMs - now());
        if (waitMs <= 0) return undefined;
        await sleepOrAbort(sleep, waitMs, signal);
        waitedMs += waitMs;
      }
    },
    pause,
    async observeRemaining(remaining, resetInMs) {
      // No cap: nothing to slow, except a window already spent whose reset the answer told.
      const seconds = holdBeforeReset(Infinity, remaining, resetInMs);
      if (seconds > 0) await pause(seconds, `X-RateLimit-Remaining ${remaining} until the window resets (workspace "${workspace}")`);
    },
    async recordConnectionFailure() {
      const result = await shared.recordConnectionFailure();
      if (result.breakerOpen) breaker = { untilMs: now() + settings.breakerOpenMs, consecutiveFailures: result.consecutiveFailures };
      return result;
    },
    async recordSuccess() {
      breaker = { untilMs: 0, consecutiveFailures: 0 };
      await shared.recordSuccess();
    },
    get waitedMs() {
      return waitedMs;
    },
    get clockOffsetMs() {
      return 0;
    },
  };
}

/**
 * Slowing down only when it is needed (issue 22: the old rule, an extra token per answer once
 * Remaining fell under 5% of the limit, halved the rate exactly when the cap matched the
 * instance's limit: 1.29x the floor). The host sends at most `rate` a second; before the window
 * resets in `resetInMs` it would send about rate x that. Only when Remaining is smaller does it
 * wait, and only as long as it must: until the Remaining requests, sent at the full rate, end at
 * the reset (with Remaining 0, until the reset). Returns that wait in seconds, 0 for none.
 *
 * Laravel's limiter says when its window resets only on its 429 (Retry-After, X-RateLimit-Reset),
 * so on its other answers `resetInMs` is unknown and nothing is known to be smaller: the host
 * goes on at its cap, which at the instance's own rate spends each window as it resets. Should a
 * window still run out (another tool of the agency on the same instance), that one 429's
 * Retry-After pauses every sync of the host until exactly the reset (client.ts).
 */
export function holdBeforeReset(rate: number, remaining: number, resetInMs: number | undefined): number {
  if (resetInMs === undefined || !(resetInMs > 0) || !(remaining >= 0) || !(rate > 0)) return 0;
  // No cap: what is left goes at once, and only a spent window holds the host.
  if (!Number.isFinite(rate)) return remaining === 0 ? resetInMs / 1000 : 0;
  if (remaining >= rate * (resetInMs / 1000)) return 0;
  return Math.max(0, resetInMs / 1000 - remaining / rate);
}

function clampPause(seconds: number, maxSeconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, maxSeconds) : 0;
}

/** Rejects with the caller's abort reason rather than whatever the aborted sleep threw. */
async function sleepOrAbort(sleep: Sleep, ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
