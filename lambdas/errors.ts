/**
 * Every failure sender-sync reports is one of these: a literal `name` (what a Lambda
 * reports as the error type, so the state machine's Retry/Catch can match it), a
 * stable `code` callers switch on (never `instanceof`: two bundles hold two copies of
 * a class), the workspace it concerns, and the `cause` kept. Messages never carry a
 * key or a password.
 */
export interface SenderSyncErrorOptions {
  workspace?: string;
  cause?: unknown;
}

export abstract class SenderSyncError extends Error {
  abstract override readonly name: string;
  abstract readonly code: string;
  /** A Step Functions retrier may try this again (network, throttling, a dropped connection). */
  readonly retryable: boolean = false;
  readonly workspace?: string;

  constructor(message: string, options: SenderSyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.workspace = options.workspace;
  }
}

export class ConfigError extends SenderSyncError {
  override readonly name = 'ConfigError';
  readonly code = 'SS_CONFIG_INVALID';
}

export class InvalidInputError extends SenderSyncError {
  override readonly name = 'InvalidInputError';
  readonly code = 'SS_INVALID_INPUT';
}

export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof (error as { code: unknown }).code === 'string') {
    return (error as { code: string }).code;
  }
  return undefined;
}

const MAX_ERROR_TEXT = 1000;

/** A short, single-line description of an error, fit for a table cell or a warning. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_ERROR_TEXT ? `${oneLine.slice(0, MAX_ERROR_TEXT - 1)}…` : oneLine;
}
