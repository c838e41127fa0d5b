import { describeError, errorCode } from '../lambdas/errors';

/**
 * Exit codes, for scripts: one table for every command (docs/operations.md's CLI section and
 * `sender-sync --help` say the same). 64 is sysexits' EX_USAGE, as gh and dbt use it.
 */
export const EXIT = { completed: 0, error: 1, partial: 2, failed: 3, alreadyRunning: 4, usage: 64, interrupted: 130 } as const;

/** What a person typed wrong: a flag's value, a workspace name that is not registered. */
const USAGE_ERRORS = new Set(['SS_USAGE', 'SS_WORKSPACE_NOT_FOUND']);

/** Prints a one-line error a person can act on and exits non-zero; never a stack for known errors. A usage error exits 64. */
export function fail(error: unknown, exitCode: number = EXIT.error): never {
  if (USAGE_ERRORS.has(errorCode(error) ?? '')) {
    console.error(`sender-sync: ${describeError(error).replace(/^\w+Error: /, '')}`);
    process.exit(EXIT.usage);
  }
  console.error(`sender-sync: ${describeError(error)}`);
  process.exit(exitCode);
}

/**
 * The one way a command prints `--json`: the value alone on stdout, keys in snake_case
 * (as the tables' columns), whatever casing the code's records use. Only identifier-like
 * keys are converted; a key that is data (a name with a space, an ARN) stays as it is.
 */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(snakeCaseKeys(value), null, 2));
}

export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [snakeCase(key), snakeCaseKeys(item)]));
}

function snakeCase(key: string): string {
  return /^[a-z][A-Za-z0-9]*$/.test(key) ? key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) : key;
}
