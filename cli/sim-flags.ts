import { UsageError } from '../lambdas/errors';
import { isWarmupDay } from '../lambdas/warmup/day';
import type { SimulatedInstance } from '../local/run-local';
import { PAGINATION_MODES, type PaginationMode } from '../sim/pagination';
import { fail } from './output';

/**
 * `run`'s flags for the built-in simulator's instance behaviour: the same knobs as
 * `npm run emailbison-sim` (`--pagination` there is `--sim-pagination` here, and so on).
 */
export interface SimFlags {
  simPagination?: string;
  simPageCap?: string;
  simRate?: string;
  simRateWindow?: string;
  simNoUsersRoute?: boolean;
  simNoWarmupRoute?: boolean;
  simInvalidCursor?: string;
  simHonourPerPage?: boolean;
  simUnreachable?: string;
}

/** Reads the flags; a wrong value is a `UsageError` (exit 64) naming the flag and what it takes. */
export function parseSimFlags(flags: SimFlags): SimulatedInstance {
  const instance: SimulatedInstance = {};
  if (flags.simPagination !== undefined)
    instance.pagination = oneOf('--sim-pagination', flags.simPagination, PAGINATION_MODES) as PaginationMode;
  if (flags.simPageCap !== undefined) instance.pageCap = wholeNumber('--sim-page-cap', flags.simPageCap, 1);
  if (flags.simRate !== undefined) {
    instance.rateLimit = {
      requests: wholeNumber('--sim-rate', flags.simRate, 1),
      windowSeconds: flags.simRateWindow === undefined ? 1 : positive('--sim-rate-window', flags.simRateWindow),
    };
  } else if (flags.simRateWindow !== undefined) {
    throw new UsageError('--sim-rate-window needs --sim-rate N (requests per window).');
  }
  if (flags.simNoUsersRoute) instance.usersRoute = false;
  if (flags.simNoWarmupRoute) instance.warmupRoute = false;
  if (flags.simInvalidCursor !== undefined)
    instance.invalidCursor = oneOf('--sim-invalid-cursor', flags.simInvalidCursor, ['first-page', 'reject'] as const);
  if (flags.simHonourPerPage) instance.honourPerPage = true;
  if (flags.simUnreachable !== undefined)
    instance.unreachable = oneOf('--sim-unreachable', flags.simUnreachable, ['hang', 'refuse'] as const);
  return instance;
}

/** `run`'s flag values, checked before anything starts: a wrong one exits 64 with its line alone (no progress line before it). */
export function checkRunFlags(flags: SimFlags & { latencyMs?: string; simPort?: string; warmup?: boolean; day?: string }): void {
  try {
    parseSimFlags(flags);
    if (flags.day !== undefined && !flags.warmup) throw new UsageError('--day is for --warmup: the day whose warmup figures are read.');
    if (flags.day !== undefined && !isWarmupDay(flags.day)) throw new UsageError(`--day must be a date as YYYY-MM-DD, got "${flags.day}".`);
    if (flags.latencyMs !== undefined) wholeNumber('--latency-ms', flags.latencyMs);
    if (flags.simPort !== undefined) wholeNumber('--sim-port', flags.simPort);
  } catch (error) {
    fail(error);
  }
}

export function wholeNumber(flag: string, text: string, min = 0): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min)
    throw new UsageError(`${flag} must be a whole number${min > 0 ? ` >= ${min}` : ''}, got "${text}".`);
  return value;
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(value > 0) || !Number.isFinite(value))
    throw new UsageError(`${flag} must be a number of seconds > 0, got "${text}".`);
  return value;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${text}".`);
  return text as T;
}
