/**
 * Every failure sender-sync reports, in one catalogue. Each has a literal `name` (what a
 * Lambda reports as the error type, so the state machine's Retry/Catch can match it), a
 * stable `code` callers switch on (never `instanceof`: two bundles hold two copies of a
 * class), the workspace it concerns, and the `cause` kept. Messages never carry a key
 * or a password.
 *
 * `retried` answers "does the state machine try the task again?" for the whole house:
 * the definition's never-retry list is derived from it (NOT_RETRIED_ERRORS), and so is
 * each error's `retryable`. Not retried means a retry cannot see a fix: the same key,
 * URL, input or file gives the same answer, and a secret stays cached for minutes.
 */
export const ERROR_CATALOGUE = {
  // General
  ConfigError: { code: 'SS_CONFIG_INVALID', retried: false },
  InvalidInputError: { code: 'SS_INVALID_INPUT', retried: false },
  /** The stack's CDK context is wrong: raised at synth, never by a Lambda. */
  StackConfigError: { code: 'SS_STACK_CONFIG_INVALID', retried: false },
  /** The database secret still holds the stack's placeholder: nothing can run until someone fills it in. */
  NotConfiguredError: { code: 'SS_NOT_CONFIGURED', retried: false },
  /** A command used wrongly (an unknown workspace, a bad flag value): the CLI exits 64 (EX_USAGE). */
  UsageError: { code: 'SS_USAGE', retried: false },

  // Jobs and workspaces
  WorkspaceNotFoundError: { code: 'SS_WORKSPACE_NOT_FOUND', retried: false },
  JobNotFoundError: { code: 'SS_JOB_NOT_FOUND', retried: false },
  /**
   * The job ended (marked failed, aborted, finalized) while a sync invocation of it still
   * ran: Step Functions does not stop a Lambda in flight. The orphan writes nothing more.
   */
  JobNoLongerRunningError: { code: 'SS_JOB_NOT_RUNNING', retried: false },
  /** Another invocation took the workspace's lease: this one stops and writes nothing more. */
  WorkspaceLeaseLostError: { code: 'SS_WORKSPACE_LEASE_LOST', retried: false },
  /**
   * A sync invocation's deadline came: the abort reason of what was in flight. The sync
   * turns it into a saved cursor and `done: false`; should it ever escape, a new attempt
   * resumes from that cursor.
   */
  DeadlineReachedError: { code: 'SS_DEADLINE_REACHED', retried: true },

  // Secrets: a retry inside the secret cache's lifetime cannot see a fixed secret.
  SecretUnavailableError: { code: 'SS_SECRET_UNAVAILABLE', retried: false },

  // Database
  DatabaseConfigError: { code: 'SS_DATABASE_CONFIG', retried: false },
  /** A dropped connection or a server restarting: worth another attempt. */
  DatabaseUnavailableError: { code: 'SS_DATABASE_UNAVAILABLE', retried: true },
  /** A misnamed, duplicated or edited migration file stays so until someone fixes it. */
  MigrationError: { code: 'SS_MIGRATION', retried: false },
  /** A migration waited out its lock timeout on every attempt: another session holds what it must lock. */
  MigrationBlockedError: { code: 'SS_MIGRATION_BLOCKED', retried: false },
  /** A read found no sender-sync schema (no schema_migrations): it migrates nothing, so it reads nothing. */
  SchemaMissingError: { code: 'SS_SCHEMA_MISSING', retried: false },

  // EmailBison
  RejectedApiKeyError: { code: 'SS_EMAILBISON_KEY_REJECTED', retried: false },
  BaseUrlNotFoundError: { code: 'SS_EMAILBISON_NOT_FOUND', retried: false },
  MalformedPageError: { code: 'SS_EMAILBISON_MALFORMED_PAGE', retried: false },
  /** The client already retried the page; a new attempt resumes from the saved cursor. */
  EmailBisonUnavailableError: { code: 'SS_EMAILBISON_UNAVAILABLE', retried: true },
  /** A 4xx other than 401/403/404/408/429: the same request gets the same answer. */
  UnexpectedResponseError: { code: 'SS_EMAILBISON_UNEXPECTED_RESPONSE', retried: false },
  /** 403 "does not match the workspace", or GET /api/users names another workspace. */
  KeyBoundElsewhereError: { code: 'SS_EMAILBISON_KEY_BOUND_ELSEWHERE', retried: false },
  /** The instance's breaker is open: a retry within minutes finds it open still. */
  EmailBisonUnreachableError: { code: 'SS_EMAILBISON_UNREACHABLE', retried: false },
  /**
   * Page mode refused a page (422, or another 4xx past page 1): only cursor pagination reads
   * further. Decided by the status alone; the body (Laravel's, HTML, none) only adds words.
   */
  PageCapReachedError: { code: 'SS_EMAILBISON_PAGE_CAP', retried: false },
  /** An answer larger than EMAILBISON_MAX_RESPONSE_BYTES: abandoned; a new attempt resumes from the saved cursor. */
  ResponseTooLargeError: { code: 'SS_EMAILBISON_RESPONSE_TOO_LARGE', retried: true },
  /** A request that took longer than EMAILBISON_REQUEST_TIMEOUT_MS in all (a trickling body): as above. */
  ResponseTimeoutError: { code: 'SS_EMAILBISON_RESPONSE_TIMEOUT', retried: true },
  /** A walk that does not end (a cursor cycle, pages that bring no new account): a retry walks the same loop. */
  EndlessWalkError: { code: 'SS_EMAILBISON_ENDLESS_WALK', retried: false },
  /** A super-admin request (list workspaces, mint a key) failed: the CLI stops, a person looks. */
  EmailBisonAdminError: { code: 'SS_EMAILBISON_ADMIN_REQUEST_FAILED', retried: false },

  // Webhooks (the receiver and `webhooks register`; no state machine task raises them)
  /** A delivery that is not JSON or not an event the receiver knows: the same body gets the same answer. */
  MalformedWebhookError: { code: 'SS_WEBHOOK_MALFORMED', retried: false },
  /** EmailBison refused or failed a /api/webhook-url request. */
  WebhookSubscriptionError: { code: 'SS_WEBHOOK_SUBSCRIPTION', retried: false },
  /** The intake queue cannot take a delivery now (SQS unreachable, or `webhooks serve`'s queue full): answered 503, EmailBison retries. */
  IntakeUnavailableError: { code: 'SS_WEBHOOK_INTAKE_UNAVAILABLE', retried: false },

  // Local runs (the CLI; no state machine task raises them)
  /** Simulated workspaces point at a simulator nobody runs: `npm run emailbison-sim` starts it. */
  SimulatorNotRunningError: { code: 'SS_SIMULATOR_NOT_RUNNING', retried: false },
} as const satisfies Record<string, { code: `SS_${string}`; retried: boolean }>;

export type ErrorName = keyof typeof ERROR_CATALOGUE;
export type ErrorCode<N extends ErrorName = ErrorName> = (typeof ERROR_CATALOGUE)[N]['code'];

const ERROR_NAMES = Object.keys(ERROR_CATALOGUE) as ErrorName[];

/** The errors the state machine never retries, in catalogue order. */
export const NOT_RETRIED_ERRORS: readonly ErrorName[] = ERROR_NAMES.filter((name) => !ERROR_CATALOGUE[name].retried);

export interface SenderSyncErrorOptions {
  workspace?: string;
  cause?: unknown;
}

export abstract class SenderSyncError<N extends ErrorName = ErrorName> extends Error {
  override readonly name: N;
  readonly code: ErrorCode<N>;
  /** Whether the state machine tries the task again on this error (the catalogue's `retried`). */
  readonly retryable: boolean;
  readonly workspace?: string;

  constructor(name: N, message: string, options: SenderSyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    this.code = ERROR_CATALOGUE[name].code;
    this.retryable = ERROR_CATALOGUE[name].retried;
    this.workspace = options.workspace;
  }
}

/** The base of an error whose message its thrower writes (naming the workspace, never a key). */
function withMessage<N extends ErrorName>(name: N) {
  return class extends SenderSyncError<N> {
    constructor(message: string, options?: SenderSyncErrorOptions) {
      super(name, message, options);
    }
  };
}

// General

export class ConfigError extends withMessage('ConfigError') {}
export class InvalidInputError extends withMessage('InvalidInputError') {}
export class StackConfigError extends withMessage('StackConfigError') {}
export class NotConfiguredError extends withMessage('NotConfiguredError') {}
export class UsageError extends withMessage('UsageError') {}

// Jobs and workspaces

export class WorkspaceNotFoundError extends withMessage('WorkspaceNotFoundError') {}
export class JobNotFoundError extends withMessage('JobNotFoundError') {}

/** Names the job, its status now and the workspace whose write it refused. */
export class JobNoLongerRunningError extends SenderSyncError<'JobNoLongerRunningError'> {
  readonly jobId?: string;
  readonly jobStatus?: string;

  constructor(details: { workspace: string; jobId?: string; jobStatus?: string }) {
    super(
      'JobNoLongerRunningError',
      `Job ${details.jobId ?? '(unknown)'} is ${details.jobStatus ?? 'no longer running'}: this invocation of workspace "${details.workspace}" ` +
        'stops and writes nothing more (an invocation Step Functions left running after its execution ended; start a new execution to sync again)',
      { workspace: details.workspace },
    );
    this.jobId = details.jobId;
    this.jobStatus = details.jobStatus;
  }
}

export class WorkspaceLeaseLostError extends SenderSyncError<'WorkspaceLeaseLostError'> {
  readonly jobId?: string;

  constructor(details: { workspace: string; jobId?: string }) {
    super(
      'WorkspaceLeaseLostError',
      `Another invocation of job ${details.jobId ?? '(unknown)'} took over workspace "${details.workspace}" (its lease expired): ` +
        'this invocation stops and writes nothing more; the other one goes on from the saved cursor',
      { workspace: details.workspace },
    );
    this.jobId = details.jobId;
  }
}

export class DeadlineReachedError extends SenderSyncError<'DeadlineReachedError'> {
  constructor(details: { workspace: string }) {
    super(
      'DeadlineReachedError',
      `The sync invocation of workspace "${details.workspace}" reached its deadline: what was in flight is aborted and the walk goes on from the saved cursor`,
      { workspace: details.workspace },
    );
  }
}

// Secrets

export class SecretUnavailableError extends withMessage('SecretUnavailableError') {}

// Database

export class DatabaseConfigError extends withMessage('DatabaseConfigError') {}
export class DatabaseUnavailableError extends withMessage('DatabaseUnavailableError') {}
export class MigrationError extends withMessage('MigrationError') {}
export class MigrationBlockedError extends withMessage('MigrationBlockedError') {}
export class SchemaMissingError extends withMessage('SchemaMissingError') {}

// EmailBison: one class per thing a caller does differently. Every message names the
// workspace (and the page, where there is one) and is built here from numbers and names
// only: never the API key, never upstream text that could echo it.

export class RejectedApiKeyError extends SenderSyncError<'RejectedApiKeyError'> {
  readonly status: number;

  /** `said`: EmailBison's own words as the thrower sanitised them (emailbison/page-request.ts), only ever to enrich. */
  constructor(details: { workspace: string; status: number; said?: string }) {
    super(
      'RejectedApiKeyError',
      `EmailBison rejected the API key of workspace "${details.workspace}" (HTTP ${details.status}${details.said ? `: ${details.said}` : ''}); ` +
        "check that the stored key is the workspace's current api-user key, minted for this workspace",
      { workspace: details.workspace },
    );
    this.status = details.status;
  }
}

export class BaseUrlNotFoundError extends SenderSyncError<'BaseUrlNotFoundError'> {
  readonly origin: string;

  constructor(details: { workspace: string; origin: string; path: string }) {
    super(
      'BaseUrlNotFoundError',
      `EmailBison at ${details.origin} answered 404 for ${details.path} (workspace "${details.workspace}"); ` +
        'the base URL looks wrong: it should be the instance host, without /api',
      { workspace: details.workspace },
    );
    this.origin = details.origin;
  }
}

export class MalformedPageError extends SenderSyncError<'MalformedPageError'> {
  readonly page: number;

  constructor(details: { workspace: string; page: number; attempts: number; problem: string }) {
    super(
      'MalformedPageError',
      `EmailBison returned a malformed page ${details.page} for workspace "${details.workspace}" ` +
        `${details.attempts} time(s) in a row: ${details.problem}`,
      { workspace: details.workspace },
    );
    this.page = details.page;
  }
}

export class EmailBisonUnavailableError extends SenderSyncError<'EmailBisonUnavailableError'> {
  readonly page: number;
  /** The HTTP status of the last attempt (429: still rate limited); undefined when it got no answer. */
  readonly lastStatus?: number;

  constructor(details: { workspace: string; page: number; attempts: number; lastFailure: string; lastStatus?: number; cause?: unknown }) {
    super(
      'EmailBisonUnavailableError',
      `EmailBison did not serve page ${details.page} of workspace "${details.workspace}" ` +
        `after ${details.attempts} attempt(s); last failure: ${details.lastFailure}`,
      { workspace: details.workspace, cause: details.cause },
    );
    this.page = details.page;
    this.lastStatus = details.lastStatus;
  }
}

export class UnexpectedResponseError extends SenderSyncError<'UnexpectedResponseError'> {
  readonly status: number;
  readonly page: number;

  constructor(details: { workspace: string; page: number; status: number }) {
    super(
      'UnexpectedResponseError',
      `EmailBison answered HTTP ${details.status} for page ${details.page} of workspace "${details.workspace}"`,
      { workspace: details.workspace },
    );
    this.status = details.status;
    this.page = details.page;
  }
}

/** The key works, but for another workspace: syncing with it would file that workspace's accounts here. */
export class KeyBoundElsewhereError extends SenderSyncError<'KeyBoundElsewhereError'> {
  readonly status: number;
  /** The workspace the key reads, when EmailBison said (GET /api/users). */
  readonly boundTo?: { id?: number; name?: string };

  constructor(details: { workspace: string; status: number; boundTo?: { id?: number; name?: string } }) {
    const boundTo = details.boundTo ? ` (it reads ${describeWorkspace(details.boundTo)})` : '';
    super(
      'KeyBoundElsewhereError',
      `The EmailBison API key of workspace "${details.workspace}" belongs to another workspace${boundTo} (HTTP ${details.status}); ` +
        `store an api-user key minted for "${details.workspace}"`,
      { workspace: details.workspace },
    );
    this.status = details.status;
    this.boundTo = details.boundTo;
  }
}

/** The instance's breaker is open after repeated connection failures: every workspace on that host waits for the next run. */
export class EmailBisonUnreachableError extends SenderSyncError<'EmailBisonUnreachableError'> {
  /** The instance (host and port), never a key. */
  readonly host: string;
  /** How long every sync of the host stops trying (the breaker's open time). */
  readonly retryAfterMs: number;

  constructor(details: { workspace: string; host: string; failures: number; retryAfterMs: number; cause?: unknown }) {
    super(
      'EmailBisonUnreachableError',
      `EmailBison at ${details.host} is unreachable (workspace "${details.workspace}"): ` +
        `${details.failures} request(s) in a row to it were refused or timed out; ` +
        `every sync of ${details.host} stops trying for ${Math.ceil(details.retryAfterMs / 1000)} s`,
      { workspace: details.workspace, cause: details.cause },
    );
    this.host = details.host;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * Page mode refused a page (HTTP 422, or another 4xx past page 1): past the instance's page-depth
 * cap, whatever its body said, so only cursor pagination reads further.
 */
export class PageCapReachedError extends SenderSyncError<'PageCapReachedError'> {
  readonly page: number;
  readonly status: number;

  constructor(details: { workspace: string; page: number; status?: number; said?: string }) {
    const status = details.status ?? 422;
    super(
      'PageCapReachedError',
      `EmailBison refused page ${details.page} of workspace "${details.workspace}" in page mode (HTTP ${status}${details.said ? `: ${details.said}` : ''}); ` +
        'taken as its page-depth cap: read it with cursor pagination (EMAILBISON_PAGINATION=auto or cursor)',
      { workspace: details.workspace },
    );
    this.page = details.page;
    this.status = status;
  }
}

/** Which request an answer that went past a bound answered. */
export interface ResponseLimit {
  workspace: string;
  /** The page asked for (in cursor mode, its place in the walk); undefined for a request that is not a page. */
  page?: number;
  /** What was asked, e.g. GET /api/sender-emails. */
  request: string;
}

/** The answer grew past EMAILBISON_MAX_RESPONSE_BYTES: it was abandoned mid-body, the connection closed. */
export class ResponseTooLargeError extends SenderSyncError<'ResponseTooLargeError'> {
  readonly page?: number;
  readonly limitBytes: number;

  constructor(details: ResponseLimit & { limitBytes: number; status: number }) {
    super(
      'ResponseTooLargeError',
      `EmailBison's answer to ${details.request}${details.page === undefined ? '' : ` (page ${details.page})`} for workspace "${details.workspace}" ` +
        `(HTTP ${details.status}) went past ${formatBytes(details.limitBytes)} (EMAILBISON_MAX_RESPONSE_BYTES): abandoned unread; a page of 15 accounts is about 10 KB`,
      { workspace: details.workspace },
    );
    this.page = details.page;
    this.limitBytes = details.limitBytes;
  }
}

/** The request took longer than EMAILBISON_REQUEST_TIMEOUT_MS in all (headers and a body that kept trickling). */
export class ResponseTimeoutError extends SenderSyncError<'ResponseTimeoutError'> {
  readonly page?: number;
  readonly limitMs: number;

  constructor(details: ResponseLimit & { limitMs: number; bytesRead: number }) {
    super(
      'ResponseTimeoutError',
      `EmailBison's answer to ${details.request}${details.page === undefined ? '' : ` (page ${details.page})`} for workspace "${details.workspace}" ` +
        `did not end within ${details.limitMs} ms (EMAILBISON_REQUEST_TIMEOUT_MS; ${formatBytes(details.bytesRead)} read): abandoned`,
      { workspace: details.workspace },
    );
    this.page = details.page;
    this.limitMs = details.limitMs;
  }
}

/**
 * A walk of a workspace's pages that would not end: `what` says what EmailBison did (a
 * cursor that came back, pages that brought no new account). Nothing is marked removed.
 */
export class EndlessWalkError extends SenderSyncError<'EndlessWalkError'> {
  readonly pages: number;

  constructor(details: { workspace: string; what: string; pages: number }) {
    super(
      'EndlessWalkError',
      `The walk of workspace "${details.workspace}" would not end: ${details.what} (${details.pages} page(s) read in this invocation); ` +
        'stopped, nothing marked removed; the next run walks it again from the top',
      { workspace: details.workspace },
    );
    this.pages = details.pages;
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

/**
 * A request made with the super-admin key (`workspaces discover`) failed. Built from the
 * request's method, path and status: never the key, never EmailBison's own text.
 */
export class EmailBisonAdminError extends SenderSyncError<'EmailBisonAdminError'> {
  readonly status?: number;

  constructor(details: { origin: string; path: string; method?: string; status?: number; lastFailure?: string; workspace?: string }) {
    const answered = details.status === undefined ? '' : ` answered HTTP ${details.status}`;
    const failure = details.lastFailure ? `: ${details.lastFailure}` : '';
    const hint = details.status === 401 || details.status === 403 ? '; is the key a super-admin key of this instance?' : '';
    const about = details.workspace === undefined ? '' : ` (workspace "${details.workspace}")`;
    super(
      'EmailBisonAdminError',
      `EmailBison at ${details.origin}${answered} to ${details.method ?? 'GET'} ${details.path}${about} with the super-admin key${failure}${hint}`,
      { workspace: details.workspace },
    );
    this.status = details.status;
  }
}
// Webhooks

/** Says what is wrong with the delivery, never quoting its body. */
export class MalformedWebhookError extends withMessage('MalformedWebhookError') {}
export class WebhookSubscriptionError extends withMessage('WebhookSubscriptionError') {}
/** retryAfterSeconds: what the receiver's 503 tells the sender in Retry-After. */
export class IntakeUnavailableError extends SenderSyncError<'IntakeUnavailableError'> {
  readonly retryAfterSeconds: number;
  constructor(message: string, options: SenderSyncErrorOptions & { retryAfterSeconds?: number } = {}) {
    super('IntakeUnavailableError', message, options);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
  }
}
export class SimulatorNotRunningError extends withMessage('SimulatorNotRunningError') {}

function describeWorkspace(workspace: { id?: number; name?: string }): string {
  if (workspace.name !== undefined) return workspace.id === undefined ? `"${workspace.name}"` : `"${workspace.name}", id ${workspace.id}`;
  return workspace.id === undefined ? 'another workspace' : `workspace id ${workspace.id}`;
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

/** Text with each secret (an API key, a password) replaced by [redacted]; secrets under 4 characters are left alone. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return secrets.filter((secret) => secret.length >= 4).reduce((out, secret) => out.split(secret).join('[redacted]'), text);
}
