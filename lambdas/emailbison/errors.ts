import { SenderSyncError } from '../errors';

/**
 * What can go wrong talking to EmailBison, one class per thing a caller does differently.
 * Every message names the workspace (and the page, where there is one) and is built here
 * from numbers and names only: never the API key, never upstream text that could echo it.
 */

export class RejectedApiKeyError extends SenderSyncError {
  override readonly name = 'RejectedApiKeyError';
  readonly code = 'SS_EMAILBISON_KEY_REJECTED';
  readonly status: number;

  constructor(details: { workspace: string; status: number }) {
    super(
      `EmailBison rejected the API key of workspace "${details.workspace}" (HTTP ${details.status}); ` +
        'check that the stored key is the workspace\'s current api-user key',
      { workspace: details.workspace },
    );
    this.status = details.status;
  }
}

export class BaseUrlNotFoundError extends SenderSyncError {
  override readonly name = 'BaseUrlNotFoundError';
  readonly code = 'SS_EMAILBISON_NOT_FOUND';
  readonly origin: string;

  constructor(details: { workspace: string; origin: string; path: string }) {
    super(
      `EmailBison at ${details.origin} answered 404 for ${details.path} (workspace "${details.workspace}"); ` +
        'the base URL looks wrong: it should be the instance host, without /api',
      { workspace: details.workspace },
    );
    this.origin = details.origin;
  }
}

export class MalformedPageError extends SenderSyncError {
  override readonly name = 'MalformedPageError';
  readonly code = 'SS_EMAILBISON_MALFORMED_PAGE';
  readonly page: number;

  constructor(details: { workspace: string; page: number; attempts: number; problem: string }) {
    super(
      `EmailBison returned a malformed page ${details.page} for workspace "${details.workspace}" ` +
        `${details.attempts} time(s) in a row: ${details.problem}`,
      { workspace: details.workspace },
    );
    this.page = details.page;
  }
}

export class EmailBisonUnavailableError extends SenderSyncError {
  override readonly name = 'EmailBisonUnavailableError';
  readonly code = 'SS_EMAILBISON_UNAVAILABLE';
  override readonly retryable = true;
  readonly page: number;

  constructor(details: { workspace: string; page: number; attempts: number; lastFailure: string; cause?: unknown }) {
    super(
      `EmailBison did not serve page ${details.page} of workspace "${details.workspace}" ` +
        `after ${details.attempts} attempt(s); last failure: ${details.lastFailure}`,
      { workspace: details.workspace, cause: details.cause },
    );
    this.page = details.page;
  }
}

/** A 4xx other than 401/403/404/408/429: retrying the same request will not help. */
export class UnexpectedResponseError extends SenderSyncError {
  override readonly name = 'UnexpectedResponseError';
  readonly code = 'SS_EMAILBISON_UNEXPECTED_RESPONSE';
  readonly status: number;
  readonly page: number;

  constructor(details: { workspace: string; page: number; status: number }) {
    super(
      `EmailBison answered HTTP ${details.status} for page ${details.page} of workspace "${details.workspace}"`,
      { workspace: details.workspace },
    );
    this.status = details.status;
    this.page = details.page;
  }
}
