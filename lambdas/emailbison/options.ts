import type { Dispatcher } from 'undici';
import { type EmailBisonPagination, SETTINGS } from '../config/settings';
import { ConfigError } from '../errors';
import type { HostBudget } from './host-budget';
import type { ListResource } from './page-request';
import type { Sleep } from './retry';

export interface EmailBisonClientOptions {
  /** Workspace name, used in every error message. */
  workspace: string;
  /** The instance's base URL, e.g. https://send.example.com (a trailing /api is tolerated). */
  baseUrl: string;
  /** The workspace's api-user key. Never appears in an error, a log line or the stats. */
  apiKey: string;
  /**
   * Which pagination to ask for (EMAILBISON_PAGINATION). `auto` (default): page mode while the
   * instance serves it, cursor mode once it answers in cursors or refuses a page past its cap.
   * `page`: page mode only; a cursor answer or the cap fails the workspace. `cursor`: cursor mode only.
   */
  pagination?: EmailBisonPagination;
  /** Page requests in flight at once for this workspace in page mode, never exceeded. Default 3. Cursor mode is sequential. */
  pageConcurrency?: number;
  /** Attempts per page request, the first included. Default 6. */
  maxAttempts?: number;
  /** Cap on any one wait; a longer Retry-After is clamped to it. Default 60 000. */
  maxRetryWaitMs?: number;
  /** Backoff ceiling of the first retry, doubling with each next one (full jitter). Default 500. */
  baseBackoffMs?: number;
  /** TCP/TLS connect timeout of the shared pool (ignored with an injected dispatcher). Default 5 000. */
  connectTimeoutMs?: number;
  /** Time to wait for response headers. Default 15 000. undici checks it (and the body timeout) on a ~1 s timer. */
  headersTimeoutMs?: number;
  /** Time the response body may stall between chunks. Default 30 000. */
  bodyTimeoutMs?: number;
  /**
   * Largest answer read, in bytes (EMAILBISON_MAX_RESPONSE_BYTES, default 8 MiB). A page past it is
   * abandoned (the connection closed) and fails with ResponseTooLargeError; an error answer is read
   * only far enough to quote it.
   */
  maxResponseBytes?: number;
  /**
   * Time one request may take from sending to the body's last byte (EMAILBISON_REQUEST_TIMEOUT_MS,
   * default 60 000). The headers and body timeouts catch stalls only; this ends a body that keeps
   * trickling. Past it the request fails with ResponseTimeoutError.
   */
  requestTimeoutMs?: number;
  /**
   * The list `listSenderEmails` walks (and `pageModeTotal` reads): default `/api/sender-emails`;
   * the warmup pass gives `/api/warmup/sender-emails` with the day as `start_date` and `end_date`.
   */
  list?: ListResource;
  /** Transport; default: a keep-alive pool per origin, shared across clients. */
  dispatcher?: Dispatcher;
  /** How the client waits (backoff, Retry-After); tests pass a scaled-down one. Must reject when the signal aborts. */
  sleep?: Sleep;
  /** Jitter source, [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * The instance's request budget, shared through Postgres with every other sync of the host
   * (see host-budget.ts): each attempt takes a slot first, 429s pause the whole host, and
   * connection failures feed its breaker. Without one, only this client's own gate applies.
   */
  hostBudget?: HostBudget;
}

/** The client's numeric limits: defaults and bounds are the settings table's (lambdas/config/settings.ts). */
const LIMIT_SETTINGS = {
  pageConcurrency: SETTINGS.pageConcurrency,
  maxAttempts: SETTINGS.maxAttempts,
  maxRetryWaitMs: SETTINGS.maxRetryWaitMs,
  baseBackoffMs: SETTINGS.baseBackoffMs,
  connectTimeoutMs: SETTINGS.connectTimeoutMs,
  headersTimeoutMs: SETTINGS.headersTimeoutMs,
  bodyTimeoutMs: SETTINGS.bodyTimeoutMs,
  maxResponseBytes: SETTINGS.maxResponseBytes,
  requestTimeoutMs: SETTINGS.requestTimeoutMs,
};

export type ClientLimits = { -readonly [K in keyof typeof LIMIT_SETTINGS]: number };

export const EMAILBISON_CLIENT_DEFAULTS: Readonly<ClientLimits> = Object.fromEntries(
  Object.entries(LIMIT_SETTINGS).map(([key, setting]) => [key, setting.default]),
) as ClientLimits;

export interface ResolvedOptions {
  workspace: string;
  pagination: EmailBisonPagination;
  limits: ClientLimits;
  origin: string;
  basePath: string;
  apiKey: string;
}

/** Defaults applied and every option checked; the numeric limits that are wrong are all named in one ConfigError. */
export function resolveOptions(options: EmailBisonClientOptions): ResolvedOptions {
  const workspace = options.workspace;
  return {
    workspace,
    pagination: resolvePagination(options),
    limits: resolveLimits(options),
    ...parseBaseUrl(options.baseUrl, workspace),
    apiKey: checkApiKey(options.apiKey, workspace),
  };
}

function resolvePagination(options: EmailBisonClientOptions): EmailBisonPagination {
  if (options.pagination === undefined) return SETTINGS.emailbisonPagination.default;
  try {
    return SETTINGS.emailbisonPagination.parse(options.pagination);
  } catch (error) {
    throw new ConfigError(
      `EmailBison client options for workspace "${options.workspace}": pagination must be ${(error as Error).message}`,
      {
        workspace: options.workspace,
      },
    );
  }
}

function resolveLimits(options: EmailBisonClientOptions): ClientLimits {
  const limits = { ...EMAILBISON_CLIENT_DEFAULTS } as ClientLimits;
  const wrong: string[] = [];
  for (const key of Object.keys(limits) as (keyof ClientLimits)[]) {
    const value = options[key];
    if (value === undefined) continue;
    try {
      limits[key] = LIMIT_SETTINGS[key].parse(value);
    } catch (error) {
      wrong.push(`${key} must be ${(error as Error).message}`);
    }
  }
  if (wrong.length > 0) {
    throw new ConfigError(`EmailBison client options for workspace "${options.workspace}": ${wrong.join('; ')}`, {
      workspace: options.workspace,
    });
  }
  return limits;
}

/** Secrets often end in a newline; anything else a header cannot carry is a broken secret, said without echoing it. */
function checkApiKey(apiKey: string, workspace: string): string {
  const key = (apiKey ?? '').trim();
  if (!key) throw new ConfigError(`the EmailBison API key of workspace "${workspace}" is empty`, { workspace });
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new ConfigError(`the EmailBison API key of workspace "${workspace}" contains characters an HTTP header cannot carry`, {
      workspace,
    });
  }
  return key;
}

function parseBaseUrl(baseUrl: string, workspace: string): { origin: string; basePath: string } {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError(`the EmailBison base URL of workspace "${workspace}" is not a URL`, { workspace });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`the EmailBison base URL of workspace "${workspace}" must be http(s)`, { workspace });
  }
  const basePath = url.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
  return { origin: url.origin, basePath };
}
