import type { MintedToken, TokenMintFailure } from './admin';
import type { SimCounters } from './counters';
import type { RawSenderEmail } from './data';
import type { SimFaults } from './faults';
import type { SimRateLimit } from './limiter';
import type { PaginationMode } from './pagination';
import type { SimRequest } from './request-log';
import type { SimAccountChange, SimDelivery, SimSubscription } from './webhooks';
import type { ScenarioSpec } from './scenarios';
import type { RawWarmupItem, WarmupFigures } from './warmup';

export type PageCapAnswer = 'laravel' | 'message' | 'html' | 'empty';

export const PAGE_CAP_ANSWERS: readonly PageCapAnswer[] = ['laravel', 'message', 'html', 'empty'];

/** What startEmailBisonSim takes and returns: the simulator's whole surface for tests and tools. */

export type SimLatency = number | { minMs: number; maxMs: number };

/** How an instance is unreachable: `refuse` (nothing listens: ECONNREFUSED) or `hang` (accepts, never answers). */
export type SimUnreachable = 'refuse' | 'hang';

export interface EmailBisonSim {
  /** http://127.0.0.1:PORT, the base URL a client is given (no /api). Stays the same across setUnreachable. */
  url: string;
  /** Each workspace with the key registered for it (see bindKey: it may read another workspace). */
  workspaces(): { id: number; name: string; apiKey: string; total: number }[];
  /** The accounts the workspace holds now, sorted by id: what a fault-free read serves. */
  truth(workspaceName: string): RawSenderEmail[];
  setFaults(workspaceName: string | '*', faults: SimFaults): void;
  clearFaults(): void;
  setLatency(latency: SimLatency): void;
  addAccounts(workspaceName: string, count: number): RawSenderEmail[];
  removeAccounts(workspaceName: string, count: number): RawSenderEmail[];
  updateAccounts(workspaceName: string, count: number): RawSenderEmail[];
  /** Sets fields of one account to exactly the values given. */
  patchAccount(workspaceName: string, id: number, fields: Record<string, unknown>): RawSenderEmail;
  counters(workspaceName?: string): SimCounters;
  /** Zeroes the counters and clears the request log. */
  resetCounters(): void;

  /** The instance's pagination mode now. */
  pagination(): PaginationMode;
  /**
   * Switches the instance's pagination mode: at once, or (with `afterRequests: N`) once N more
   * `GET /api/sender-emails` list requests of any workspace have been answered in the current
   * mode, so request N+1 is the first in `mode` (an instance switching modes mid-walk).
   */
  setPagination(mode: PaginationMode, options?: { afterRequests?: number }): void;
  /** Page mode answers 422 for `page` > cap, in the shape given (default: as it was); undefined lifts the cap. */
  setPageCap(cap: number | undefined, answer?: PageCapAnswer): void;
  /** Replaces the instance's limiter (a fresh window); undefined turns it off. */
  setRateLimit(rate: SimRateLimit | undefined): void;
  /** false: `GET /api/users` answers 404, as on an instance that does not serve it. */
  setUsersRoute(enabled: boolean): void;
  /** false: the warmup routes (/api/warmup/sender-emails[/{id}]) answer 404, as on an instance without them. */
  setWarmupRoute(enabled: boolean): void;
  /**
   * Sets some or all of an account's warmup figures for one day (the rest stay seeded); returns its
   * item for that day. Also `POST /_sim/warmup {"account": id, "day": "YYYY-MM-DD", "warmup_score": 41, ...}`.
   */
  setWarmup(id: number, day: string, figures: Partial<WarmupFigures>): RawWarmupItem;
  /** What `GET /api/warmup/sender-emails?start_date=day&end_date=day` serves for the workspace now, by ascending id. */
  warmupTruth(workspaceName: string, day: string): RawWarmupItem[];
  /** See SimOptions.invalidCursor. */
  setInvalidCursor(answer: 'first-page' | 'reject'): void;
  /** See SimOptions.honourPerPage. */
  setHonourPerPage(honour: boolean): void;

  /** A new api-user key bound to the workspace; the workspace's registered key keeps working. */
  mintKey(workspaceName: string): string;
  /**
   * Binds a key (registered or minted) to another workspace: it then lists that workspace's
   * accounts, `/api/users` names that workspace, and reading its own workspace's records by id
   * answers 403. bindKey(keyOf('A'), 'B') is "A's row holds B's key".
   */
  bindKey(apiKey: string, workspaceName: string): void;
  /** The key is answered 401 from now on. */
  revokeKey(apiKey: string): void;
  /** The name of the workspace the key reads now, or undefined for a key the instance does not know. */
  keyBinding(apiKey: string): string | undefined;
  /** The secret-looking values `/api/users` returns for the workspace: tests assert none of them leaks. */
  workspaceSecrets(workspaceName: string): string[];
  /** See SimOptions.adminKey; undefined: no super-admin key. */
  setAdminKey(key: string | undefined): void;
  /** The api-tokens route fails (HTTP `status`, default 500) once `afterMints` keys have been minted; undefined: it works. */
  setTokenMintFailure(failure: TokenMintFailure | undefined): void;
  /** Every key minted through `POST /api/workspaces/v1.1/{team_id}/api-tokens`, in order. */
  mintedTokens(): MintedToken[];

  /** Every request since the start or the last clear, in arrival order (no key in it). */
  requestLog(): SimRequest[];
  clearRequestLog(): void;

  /**
   * `refuse`: stops listening (connections are refused; in-flight ones are cut); `hang`: accepts
   * and never answers (a client's own timeout ends each request); false: serves again on the same URL.
   */
  setUnreachable(mode: SimUnreachable | false): Promise<void>;

  /**
   * The account changes upstream (status 'Not connected' / 'Connected', warmup off, updated_at
   * now, or gone) and its webhook is delivered (SimOptions.webhookUrl and the workspace's
   * subscriptions) before this resolves. Also POST /_sim/accounts/{id}/<change>.
   */
  changeAccount(
    id: number,
    action: SimAccountChange,
    change?: { webhooks?: boolean },
  ): Promise<{ account: RawSenderEmail; deliveries: SimDelivery[] }>;
  /** A new account, its email_account_added delivered. Also POST /_sim/accounts {"workspace": name or id}. */
  /** POST /_sim/bad-day: `accounts` connected accounts across the first `workspaces` disconnect at once, each delivered `copies` times, concurrently. */
  badDay(request: {
    accounts: number;
    workspaces: number;
    copies?: number;
    concurrency?: number;
    /** false: the accounts change and the events are logged, and no webhook is delivered (a receiver that lost them). */
    webhooks?: boolean;
  }): Promise<import('./webhooks').BadDaySummary>;
  addAccountWithEvent(
    workspaceName: string,
    change?: { webhooks?: boolean },
  ): Promise<{ account: RawSenderEmail; deliveries: SimDelivery[] }>;
  /**
   * The event log (sim/event-log.ts): every change made through changeAccount, badDay and
   * addAccountWithEvent, delivered or not (`{webhooks: false}`), oldest first; one workspace's, or all.
   */
  eventLog(workspaceName?: string): import('./event-log').SimLogItem[];
  /** Sets a logged event's created_at (an event of days ago). */
  backdateEvent(id: number, createdAt: string): void;
  /** Faults of GET /api/events for a workspace ('*': all), as setFaults gives the account routes; undefined: none. */
  setEventLogFaults(workspaceName: string | '*', faults: SimFaults | undefined): void;
  /** false: GET /api/events answers 404, an instance without the log. Default SimOptions.eventLog. */
  setEventLog(served: boolean): void;
  /** Every webhook delivery made, in order, with the receiver's status and the exact body. */
  webhookDeliveries(): SimDelivery[];
  /** The workspace's subscriptions (/api/webhook-url). */
  webhookSubscriptions(workspaceName: string): SimSubscription[];
  close(): Promise<void>;
}

export interface SimOptions {
  scenario: string | ScenarioSpec;
  /** Default 0: an ephemeral port. */
  port?: number;
  latencyMs?: SimLatency;
  seed?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * How `GET /api/sender-emails` paginates (default `page`, EmailBison as documented in 2025):
   * `page` | `cursor-default` | `cursor-only` | `page-only`; see PaginationMode. Cursor mode is
   * Laravel's cursorPaginate, newest id first: `?pagination_type=cursor[&cursor=C]` answers
   * `{ data, links: { first: null, last: null, prev, next }, meta: { path, per_page, next_cursor,
   * prev_cursor } }`, and `links.next` carries only `cursor` (it drops `pagination_type`).
   */
  pagination?: PaginationMode;
  /**
   * Page mode answers 422 `{ message, errors: { page: [...] } }` (telling the client to use
   * cursors) for `page` greater than this. Default: no cap. Cursor mode is never capped.
   */
  pageCap?: number;
  /**
   * How the cap's 422 reads (its real body is documented nowhere): `laravel` (default)
   * `{ message, errors: { page: [...] } }`; `message` `{ message }` alone; `html` an HTML page;
   * `empty` no body at all. A client must know the cap by its status.
   */
  pageCapAnswer?: PageCapAnswer;
  /**
   * One fixed-window limiter for the whole instance (every workspace and key together), as
   * Laravel's ThrottleRequests: answers carry `X-RateLimit-Limit` / `X-RateLimit-Remaining`; past
   * the limit, 429 `{"message":"Too Many Attempts."}` with `Retry-After` (whole seconds to the
   * window's end) and `X-RateLimit-Reset`. A 429'd request does not count. Default: no limit.
   */
  rateLimit?: SimRateLimit;
  /**
   * What a `cursor` that does not decode gets. Default `first-page`: Laravel's `Cursor::fromEncoded`
   * returns null and cursorPaginate serves the first page, silently. `reject`: 422
   * `{ message: 'The cursor is invalid.', errors: { cursor: [...] } }`, as an instance validating it would.
   */
  invalidCursor?: 'first-page' | 'reject';
  /**
   * Default false: 15 a page whatever `per_page` says (most instances). true: `per_page` (1..100)
   * is honoured in both modes, as two teams saw; page-mode links still carry only `page`.
   */
  honourPerPage?: boolean;
  /**
   * Default true. false: `GET /api/warmup/sender-emails[/{id}]` answer 404 (an instance without the
   * warmup endpoints). With them: both dates required (`start_date`, `end_date`, Y-m-d; 422 in
   * Laravel's shape otherwise), page mode only, 15 a page, each account's seeded figures
   * (sim/warmup.ts), the same faults and limiter as the account list.
   */
  warmupRoute?: boolean;
  /** Default true. false: `GET /api/users` answers 404 (an instance that does not serve it). */
  usersRoute?: boolean;
  /**
   * A super-admin key: with it `GET /api/workspaces/v1.1` lists every workspace (paginated as
   * `pagination` says) and `POST /api/workspaces/v1.1/{team_id}/api-tokens` `{"name"}` mints an
   * api-user key for one (`data.plain_text_token`). Other routes answer it 401. Default: none.
   */
  adminKey?: string;
  /** Start unreachable (see EmailBisonSim.setUnreachable). */
  unreachable?: SimUnreachable;
  /**
   * Every account change made through changeAccount / the /_sim routes is also delivered here
   * (all events, every workspace's). sender-sync's URLs are per workspace: one given here
   * takes only its own workspace's events (the others answer 409); register subscriptions
   * (`sender-sync webhooks register`) to deliver each workspace's to its own.
   */
  webhookUrl?: string;
  /** The limiter's clock, in ms (default: monotonic, on the epoch's scale). */
  now?: () => number;
  /** Default true. false: GET /api/events answers 404 (an instance without the event log). */
  eventLog?: boolean;
}
