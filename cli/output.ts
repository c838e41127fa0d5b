import { describeError } from '../lambdas/errors';

/** Prints a one-line error a person can act on and exits non-zero; never a stack for known errors. */
export function fail(error: unknown, exitCode = 1): never {
  console.error(`sender-sync: ${describeError(error)}`);
  process.exit(exitCode);
}
