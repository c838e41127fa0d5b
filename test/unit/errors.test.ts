import { describe, expect, it } from 'vitest';
import * as errors from '../../lambdas/errors';
import { ERROR_CATALOGUE, NOT_RETRIED_ERRORS, SenderSyncError, type ErrorName } from '../../lambdas/errors';

const KEY = 'sk_live_sentinel-key-0123456789';

/** Every error class the catalogue module exports, built with details a caller would pass (and a key it must not print). */
type AnyErrorClass = new (details: unknown) => SenderSyncError;
const built = (Object.values(errors) as unknown[])
  .filter((value): value is AnyErrorClass => typeof value === 'function' && value.prototype instanceof SenderSyncError)
  .map(
    (ErrorClass) =>
      new ErrorClass({
        workspace: 'Acme Outbound',
        apiKey: KEY,
        page: 7,
        status: 403,
        origin: 'https://send.example.com',
        path: '/api/sender-emails',
        attempts: 2,
        failures: 5,
        problem: 'no data',
        lastFailure: 'HTTP 503',
      }),
  );

describe('the error catalogue', () => {
  it('has one class per entry, whose name, code and retryable come from the entry', () => {
    expect(built.map((error) => error.name).sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
    for (const error of built) {
      const entry = ERROR_CATALOGUE[error.name as ErrorName];
      expect(error, error.name).toMatchObject({ code: entry.code, retryable: entry.retried });
      expect(error.code, error.name).toMatch(/^SS_[A-Z_]+$/);
    }
  });

  it('gives every code once', () => {
    const codes = Object.values(ERROR_CATALOGUE).map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('lists as not retried a missing secret, a failed migration and every EmailBison answer a retry cannot change', () => {
    for (const name of [
      'SecretUnavailableError',
      'MigrationError',
      'KeyBoundElsewhereError',
      'EmailBisonUnreachableError',
      'PageCapReachedError',
      'EndlessWalkError',
    ]) {
      expect(NOT_RETRIED_ERRORS).toContain(name);
    }
    expect(NOT_RETRIED_ERRORS).not.toContain('EmailBisonUnavailableError');
    // An answer past the byte or time cap: a new attempt resumes from the saved cursor.
    expect(NOT_RETRIED_ERRORS).not.toContain('ResponseTooLargeError');
    expect(NOT_RETRIED_ERRORS).not.toContain('ResponseTimeoutError');
    expect(NOT_RETRIED_ERRORS).not.toContain('DatabaseUnavailableError');
  });

  it('builds the EmailBison messages from names and numbers: the workspace is named, the key never', () => {
    const detailed = built.filter((error) => error.code.startsWith('SS_EMAILBISON_'));
    expect(detailed.length).toBeGreaterThanOrEqual(9);
    for (const error of detailed) {
      expect(error.workspace, error.name).toBe('Acme Outbound');
      expect(error.message, error.name).toContain('"Acme Outbound"');
      expect(error.message, error.name).not.toContain(KEY);
      expect(JSON.stringify(error), error.name).not.toContain(KEY);
    }
  });

  it('says which workspace a key is bound to when EmailBison told', () => {
    const error = new errors.KeyBoundElsewhereError({
      workspace: 'Acme Outbound',
      status: 200,
      boundTo: { id: 12, name: 'Kestrel Ventures' },
    });
    expect(error.message).toBe(
      'The EmailBison API key of workspace "Acme Outbound" belongs to another workspace (it reads "Kestrel Ventures", id 12) (HTTP 200); store an api-user key minted for "Acme Outbound"',
    );
  });

  it('keeps the cause and reports the name as the error type', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new errors.EmailBisonUnreachableError({
      workspace: 'W',
      host: 'send.example.com',
      failures: 5,
      retryAfterMs: 300_000,
      cause,
    });
    expect(error.cause).toBe(cause);
    expect(errors.describeError(error)).toBe(
      'EmailBisonUnreachableError: EmailBison at send.example.com is unreachable (workspace "W"): 5 request(s) in a row to it were refused or timed out; every sync of send.example.com stops trying for 300 s',
    );
    expect(errors.errorCode(error)).toBe('SS_EMAILBISON_UNREACHABLE');
  });
});
