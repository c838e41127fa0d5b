import type { Dispatcher } from 'undici';
import { budgetedGet } from './budgeted-get';
import { sharedDispatcher } from './dispatcher';
import { parseJson } from './page-request';
import type { HostBudget } from './host-budget';
import { resolveOptions } from './options';
import type { Sleep } from './retry';

/*
 * Which EmailBison workspace an api-user key reads. List routes ignore any workspace
 * parameter and list the key's own workspace, so a key stored under the wrong row would
 * file another client's accounts here, and a consistent walk would then remove this
 * workspace's own. `GET /api/users` is the one way to ask: it answers the user and
 * `data.workspace` ({ id, name }).
 *
 * That answer also carries the workspace's other secrets (tokens, passwords): only
 * `data.workspace.id` and `data.workspace.name` are read from it, and its body is never
 * logged, stored or quoted in an error.
 */

export type KeyBinding =
  | { status: 'bound'; id: number; name: string }
  /** The instance could not say (no /api/users, an odd answer, or it kept failing): `reason` is ours, never upstream text. */
  | { status: 'unknown'; reason: string; rateLimited?: boolean };

export interface CheckKeyBindingOptions {
  /** Our workspace's name, for error messages. */
  workspace: string;
  baseUrl: string;
  apiKey: string;
  /** Default: the shared keep-alive pool of the host, as the sync client uses. */
  dispatcher?: Dispatcher;
  /** The host's request budget: the check is one more request to the instance. */
  hostBudget?: HostBudget;
  /** Attempts at the request (connection failures, 5xx, 429), the first included. Default 3. */
  maxAttempts?: number;
  baseBackoffMs?: number;
  /** Cap on one wait for a 429 (its Retry-After, header or body, else the backoff). Default 10 000: a check is not worth longer. */
  maxRetryWaitMs?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  sleep?: Sleep;
  signal?: AbortSignal;
  /** Counts the requests sent, for the caller's accounting (the job's api_requests). */
  stats?: { requests: number };
}

export const USERS_PATH = '/api/users';

/** Waits on a 429 longer than this are not worth it for a check: say "unknown" instead. */
const MAX_CHECK_WAIT_MS = 10_000;

/**
 * Asks the instance which workspace the key reads. 401 throws `RejectedApiKeyError`; an
 * open breaker throws `EmailBisonUnreachableError` (from the budget); 404 (an instance
 * without the route) and anything else it cannot read come back as `unknown`.
 */
export async function checkKeyBinding(options: CheckKeyBindingOptions): Promise<KeyBinding> {
  const resolved = resolveOptions(options);
  const { origin, basePath, limits } = resolved;
  // Bounded as the sync's pages are (bounded-body.ts): the answer is one user and its workspace.
  const result = await budgetedGet<KeyBinding>(
    {
      resolved,
      dispatcher: options.dispatcher ?? sharedDispatcher(origin, limits),
      apiKey: resolved.apiKey,
      path: `${basePath}${USERS_PATH}`,
      label: USERS_PATH,
      hostBudget: options.hostBudget,
      maxAttempts: options.maxAttempts ?? 3,
      maxRetryWaitMs: options.maxRetryWaitMs ?? MAX_CHECK_WAIT_MS,
      sleep: options.sleep,
      signal: options.signal,
      stats: options.stats,
    },
    ({ status, text, overflowed }) => {
      if (status === 404) return { status: 'unknown', reason: `${origin} does not answer GET ${USERS_PATH} (HTTP 404)` };
      if (status < 200 || status > 299) return { status: 'unknown', reason: `GET ${USERS_PATH} answered HTTP ${status}` };
      if (overflowed) return { status: 'unknown', reason: `GET ${USERS_PATH} answered more than ${limits.maxResponseBytes} bytes` };
      return readBinding(parseJson(text));
    },
  );
  if (result.kind === 'value') return result.value;
  return result.lastStatus === 429
    ? { status: 'unknown', reason: result.reason, rateLimited: true }
    : { status: 'unknown', reason: result.reason };
}

/** Reads data.workspace.id and .name, and nothing else of the answer. */
function readBinding(body: unknown): KeyBinding {
  const boundTo = (body as { data?: { workspace?: { id?: unknown; name?: unknown } } } | undefined)?.data?.workspace;
  const id = boundTo?.id;
  const name = boundTo?.name;
  if (typeof id !== 'number' || !Number.isInteger(id) || typeof name !== 'string') {
    return { status: 'unknown', reason: `GET ${USERS_PATH} answered without data.workspace.id and name` };
  }
  return { status: 'bound', id, name };
}
