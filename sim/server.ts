import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimAdmin } from './admin';
import { RequestCounters } from './counters';
import type { RawSenderEmail, SimWorkspace } from './data';
import { SimEventLog } from './event-log';
import { WorkspaceFaults, type FaultResponse } from './faults';
import { FixedWindowLimiter } from './limiter';
import {
  PAGE_SIZE,
  answerMode,
  cursorBody,
  cursorPageOrdinal,
  decodeCursor,
  PAGINATION_MODES,
  pageBody,
  pageParameter,
  perPageParameter,
  type PaginationMode,
} from './pagination';
import { intBetween, randomFor } from './random';
import { monotonicNowMs, RequestLog, type SimRequest } from './request-log';
import {
  invalidCursorBody,
  recordNotFound,
  send,
  sendEndlessBody,
  sendHtmlError,
  sendPageCapExceeded,
  sendTricklingBody,
  sendRateLimitedFault,
  sendThrottled,
  successFalse,
  UNAUTHENTICATED,
  userResource,
  workspaceResource,
  workspaceSecrets,
  WRONG_WORKSPACE,
} from './responses';
import { scenarioSpec, type ScenarioSpec } from './scenarios';
import { SimStore } from './store';
import { type RawWarmupItem, SimWarmup, WARMUP_LIST_PATH, type WarmupFigures, warmupOverride, warmupRange } from './warmup';
import {
  changeTimestamp,
  SimWebhooks,
  summarizeBadDay,
  type BadDaySummary,
  type SimAccountChange,
  type SimAccountEvent,
  type SimDelivery,
} from './webhooks';

export type { RawSenderEmail, SimWorkspace } from './data';
export type { SimFaults } from './faults';
export type { SimCounters } from './counters';
export type { ScenarioSpec } from './scenarios';
export type { SimRateLimit } from './limiter';
export type { PaginationMode } from './pagination';
export type { SimRequest } from './request-log';
export type { RawWarmupItem, WarmupFigures } from './warmup';
export { WARMUP_FIGURES, WARMUP_LIST_PATH } from './warmup';
export type { MintedToken, TokenMintFailure } from './admin';
export type { BadDaySummary, SimAccountChange, SimDelivery, SimSubscription } from './webhooks';
export { deadBaseUrl } from './unreachable';

import { PAGE_CAP_ANSWERS, type EmailBisonSim, type PageCapAnswer, type SimLatency, type SimOptions, type SimUnreachable } from './options';
export type { EmailBisonSim, PageCapAnswer, SimLatency, SimOptions, SimUnreachable } from './options';
export { PAGE_CAP_ANSWERS } from './options';

export { PAGE_SIZE } from './pagination';

export async function startEmailBisonSim(options: SimOptions): Promise<EmailBisonSim> {
  const spec = resolveSpec(options);
  const store = new SimStore(spec);
  const admin = new SimAdmin(store, options.adminKey);
  const counters = new RequestCounters();
  const log = new RequestLog();
  const faults = new Map<string, WorkspaceFaults>();
  const latencyRandom = randomFor(spec.seed, 'latency');
  const holds = new Set<() => void>();
  const now = options.now ?? monotonicNowMs;
  let faultGeneration = 0;
  let latency: SimLatency = options.latencyMs ?? 0;
  let closing = false;
  let pagination: PaginationMode = checkedMode(options.pagination ?? 'page');
  let pendingSwitch: { remaining: number; to: PaginationMode } | undefined;
  let pageCap = checkedCap(options.pageCap);
  let pageCapAnswer = checkedCapAnswer(options.pageCapAnswer ?? 'laravel');
  let limiter = options.rateLimit ? new FixedWindowLimiter(options.rateLimit, now) : undefined;
  let invalidCursor = options.invalidCursor ?? 'first-page';
  let usersRoute = options.usersRoute ?? true;
  let warmupRouteOn = options.warmupRoute ?? true;
  const warmup = new SimWarmup(spec.seed);
  let honourPerPage = options.honourPerPage ?? false;
  let unreachable: SimUnreachable | false = false;
  let listening = false;
  let instanceUrl = '';
  const webhooks = new SimWebhooks(() => instanceUrl, options.webhookUrl);
  const eventLog = new SimEventLog();
  const eventLogFaults = new Map<string, WorkspaceFaults>();
  let eventLogServed = options.eventLog ?? true;

  /** Resolves after `ms` (Infinity: never), or when the response closes or the server shuts down. */
  const hold = (ms: number, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const release = () => {
        clearTimeout(timer);
        holds.delete(release);
        res.off('close', release);
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(release, ms) : undefined;
      holds.add(release);
      res.on('close', release);
    });

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { message: 'Server Error' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const workspace = store.byKey(bearer(req) ?? '');
    const entry = log.begin(req.method ?? 'GET', url, now());
    entry.workspace = workspace?.name;
    entry.workspaceId = workspace?.id;
    const end = counters.begin(workspace?.name);
    res.on('finish', () => {
      end(res.statusCode);
      entry.status = res.statusCode;
      entry.endedAtMs = now();
    });
    res.on('close', () => end());

    if (unreachable === 'hang') return hold(Infinity, res);
    const path = url.pathname.replace(/\/+$/, '');
    // The simulator's own control routes: no key, no limiter (they are not EmailBison's).
    if (path.startsWith('/_sim/')) return control(req, res, path);
    // The limiter counts a request when it arrives, as Laravel's middleware runs before the controller.
    const throttle = limiter?.attempt();
    if (throttle?.allowed) {
      res.setHeader('x-ratelimit-limit', String(throttle.limit));
      res.setHeader('x-ratelimit-remaining', String(throttle.remaining));
    }
    entry.rateLimited = throttle?.allowed === false;
    await hold(latencyMs(), res);
    if (gone(res)) return;
    if (throttle && !throttle.allowed) {
      return sendThrottled(res, throttle.limit, throttle.retryAfterSeconds, throttle.resetAtSeconds);
    }
    const htmlStatus = workspace ? faults.get(workspace.name)?.htmlError() : undefined;
    if (htmlStatus !== undefined) return sendHtmlError(res, htmlStatus, {});

    if (admin.isAdmin(bearer(req)) && (await admin.handle(req, res, url, path, pagination))) return;
    const hook = /^\/api\/webhook-url(?:\/(\d+))?$/.exec(path);
    if (hook) {
      if (!workspace || faults.get(workspace.name)?.faults.rejectKey) return send(res, 401, UNAUTHENTICATED);
      return webhookUrlRoute(req, res, workspace, hook[1] === undefined ? undefined : Number(hook[1]));
    }
    if (path === '/api/events') return events(req, res, workspace, url);
    const warmupPath = /^\/api\/warmup\/sender-emails(?:\/([^/]+))?$/.exec(path);
    if (warmupPath) {
      if (!warmupRouteOn) return send(res, 404, { message: 'Not Found' });
      if (req.method !== 'GET') return send(res, 405, { message: 'Method Not Allowed' });
      if (!workspace || faults.get(workspace.name)?.faults.rejectKey) return send(res, 401, UNAUTHENTICATED);
      return warmupRoute(workspace, warmupPath[1], url, req, res, entry);
    }
    const record = /^\/api\/sender-emails\/([^/]+)$/.exec(path);
    const route = record ? 'senderEmail' : ROUTES[path];
    if (!route || (route === 'users' && !usersRoute)) return send(res, 404, { message: 'Not Found' });
    if (req.method !== 'GET') return send(res, 405, { message: 'Method Not Allowed' });
    if (!workspace || faults.get(workspace.name)?.faults.rejectKey) return send(res, 401, UNAUTHENTICATED);
    if (route === 'workspaces') return send(res, 200, { data: [workspaceResource(workspace)] });
    if (route === 'users') return send(res, 200, { data: userResource(workspace, spec.seed) });
    if (route === 'senderEmail') return senderEmail(workspace, record![1], res);
    await senderEmails(workspace, url, req, res, entry);
  }

  /** GET/POST /api/webhook-url, GET/PUT/DELETE /api/webhook-url/{id}: the key's workspace's subscriptions. */
  async function webhookUrlRoute(
    req: IncomingMessage,
    res: ServerResponse,
    workspace: SimWorkspace,
    id: number | undefined,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (id !== undefined && webhooks.owner(id) !== workspace.name) {
      return webhooks.owner(id) ? send(res, 403, WRONG_WORKSPACE) : send(res, 404, recordNotFound(String(id)));
    }
    if (id === undefined && method === 'GET') return send(res, 200, { data: webhooks.list(workspace.name) });
    if (id !== undefined && method === 'GET') return send(res, 200, { data: webhooks.list(workspace.name).find((s) => s.id === id) });
    if (id !== undefined && method === 'DELETE') {
      webhooks.delete(workspace.name, id);
      return send(res, 200, { data: { success: true, message: 'Webhook deleted.' } });
    }
    if (method !== 'POST' && method !== 'PUT') return send(res, 405, { message: 'Method Not Allowed' });
    if ((method === 'POST') !== (id === undefined)) return send(res, 405, { message: 'Method Not Allowed' });
    const body = await readJson(req);
    const fields = subscriptionFields(body);
    if (!fields) return send(res, 422, { message: 'The name, url and events fields are required.', errors: {} });
    if (id === undefined) return send(res, 201, { data: webhooks.create(workspace.name, fields) });
    return send(res, 200, { data: webhooks.update(workspace.name, id, fields) });
  }

  /**
   * POST /_sim/accounts/{id}/disconnect | reconnect | remove | warmup-disabled-causing-bounces |
   * warmup-disabled-receiving-bounces, POST /_sim/accounts {"workspace": name or id}: the account changes
   * upstream and its webhook is delivered before the answer, which lists the deliveries. POST /_sim/bad-day.
   */
  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'POST') return send(res, 405, { message: 'Method Not Allowed' });
    const change =
      /^\/_sim\/accounts\/(\d+)\/(disconnect|reconnect|remove|warmup-disabled-causing-bounces|warmup-disabled-receiving-bounces)$/.exec(
        path,
      );
    try {
      if (change) {
        const body = (await readJson(req)) as { webhooks?: unknown } | undefined;
        return send(
          res,
          200,
          await changeAccount(Number(change[1]), change[2] as SimAccountChange, { webhooks: body?.webhooks !== false }),
        );
      }
      if (path === '/_sim/bad-day') {
        const body = (await readJson(req)) as Record<string, unknown> | undefined;
        const request = badDayRequest(body);
        if (typeof request === 'string') return send(res, 400, { message: request });
        return send(res, 200, await badDay(request));
      }
      if (path === '/_sim/warmup') {
        const request = warmupOverride(await readJson(req));
        if (typeof request === 'string') return send(res, 400, { message: request });
        return send(res, 200, { data: setWarmup(request.id, request.day, request.figures) });
      }
      if (path === '/_sim/accounts') {
        const body = (await readJson(req)) as { workspace?: string | number; webhooks?: unknown } | undefined;
        const name = store.list().find((w) => w.name === body?.workspace || w.id === Number(body?.workspace))?.name;
        if (!name) return send(res, 404, { message: 'No such workspace: give {"workspace": name or id}.' });
        return send(res, 200, await addAccount(name, { webhooks: body?.webhooks !== false }));
      }
    } catch (error) {
      return send(res, 404, { message: (error as Error).message });
    }
    return send(res, 404, { message: 'Not Found' });
  }

  async function changeAccount(id: number, action: SimAccountChange, change: { webhooks?: boolean } = {}) {
    const found = store.findAccount(id);
    if (!found) throw new Error(`the simulator has no account ${id}`);
    const nowMs = Date.now();
    const updatedAt = changeTimestamp(nowMs);
    let type: SimAccountEvent;
    let account: RawSenderEmail;
    if (action === 'remove') {
      account = store.removeById(found.workspace.name, id, updatedAt);
      type = 'email_account_removed';
    } else if (action.startsWith('warmup-disabled-')) {
      // EmailBison turns warmup off for an account that bounces too much, and says why in the event type.
      account = store.patch(found.workspace.name, id, { warmup_enabled: false, updated_at: updatedAt });
      type = action.replaceAll('-', '_') as SimAccountEvent;
    } else {
      const status = action === 'disconnect' ? 'Not connected' : 'Connected';
      account = store.patch(found.workspace.name, id, { status, updated_at: updatedAt });
      type = action === 'disconnect' ? 'email_account_disconnected' : 'email_account_reconnected';
    }
    return { account, deliveries: await logged([{ type, workspace: found.workspace, account }], nowMs, change.webhooks) };
  }

  /** Records each change in the event log, then delivers its webhooks unless told not to (a test losing them). */
  async function logged(
    events: { type: SimAccountEvent; workspace: SimWorkspace; account: RawSenderEmail }[],
    atMs: number,
    deliver = true,
    copies = 1,
    concurrency = Number.POSITIVE_INFINITY,
  ): Promise<SimDelivery[]> {
    const items = events.map(({ type, workspace, account }) => eventLog.record(type, workspace, account, instanceUrl, atMs));
    if (!deliver) return [];
    const made = await webhooks.deliverAll(events, copies, concurrency);
    const targetUrl = (target: SimDelivery['target']) => (target === 'global' ? 'global' : `subscription:${target}`);
    const byEvent = new Map<string, SimDelivery[]>();
    for (const delivery of made) {
      const key = `${delivery.type}:${delivery.accountId}`;
      byEvent.set(key, [...(byEvent.get(key) ?? []), delivery]);
    }
    events.forEach((event, index) => eventLog.delivered(items[index], byEvent.get(`${event.type}:${event.account.id}`) ?? [], targetUrl));
    return made;
  }

  /**
   * POST /_sim/bad-day {"accounts": N, "workspaces": M, "copies": 1, "concurrency": 256}: N
   * connected accounts across the first M workspaces (by id) disconnect at once, as in an
   * instance outage, and each event goes to the workspace's subscriptions, `copies` times
   * each, `concurrency` deliveries in flight at once.
   */
  async function badDay(request: {
    accounts: number;
    workspaces: number;
    copies: number;
    concurrency: number;
    webhooks?: boolean;
  }): Promise<BadDaySummary> {
    const chosen = [...store.list()].sort((a, b) => a.id - b.id).slice(0, request.workspaces);
    const nowMs = Date.now();
    const updatedAt = changeTimestamp(nowMs);
    const events: { type: SimAccountEvent; workspace: SimWorkspace; account: RawSenderEmail }[] = [];
    chosen.forEach((workspace, index) => {
      const share = Math.floor(request.accounts / chosen.length) + (index < request.accounts % chosen.length ? 1 : 0);
      const connected = workspace.accounts.filter((account) => account.status === 'Connected').slice(0, share);
      for (const { id } of connected) {
        const account = store.patch(workspace.name, id, { status: 'Not connected', updated_at: updatedAt });
        events.push({ type: 'email_account_disconnected', workspace, account });
      }
    });
    const started = performance.now();
    const made = await logged(events, nowMs, request.webhooks ?? true, request.copies, request.concurrency);
    return summarizeBadDay(
      chosen.map((workspace) => workspace.name),
      request.concurrency,
      events.length,
      made,
      performance.now() - started,
    );
  }

  /** Sets an account's warmup figures for a day; answers its item for that day. */
  function setWarmup(id: number, day: string, figures: Partial<WarmupFigures>): RawWarmupItem {
    const found = store.findAccount(id);
    if (!found) throw new Error(`the simulator has no account ${id}`);
    warmup.set(id, day, figures);
    return warmup.item(found.account, [day]);
  }

  async function addAccount(workspaceName: string, change: { webhooks?: boolean } = {}) {
    const nowMs = Date.now();
    const [account] = store.add(workspaceName, 1);
    return {
      account,
      deliveries: await logged([{ type: 'email_account_added', workspace: store.get(workspaceName), account }], nowMs, change.webhooks),
    };
  }

  /**
   * GET /api/events: the key's workspace's event log (event-log.ts), with the faults the
   * event log was given (setEventLogFaults: 5xx, 429, malformed pages, counted by the log's
   * own page ordinal) and the instance's limiter (already passed); 404 on an instance
   * without the log (setEventLog(false)).
   */
  async function events(req: IncomingMessage, res: ServerResponse, workspace: SimWorkspace | undefined, url: URL): Promise<void> {
    if (!eventLogServed) return send(res, 404, { message: 'Not Found' });
    if (req.method !== 'GET') return send(res, 405, { message: 'Method Not Allowed' });
    if (!workspace || faults.get(workspace.name)?.faults.rejectKey) return send(res, 401, UNAUTHENTICATED);
    const answer = eventLog.page(workspace.name, url.searchParams, `${baseUrl(req)}/api/events`);
    if (answer.status !== 200) return send(res, answer.status, answer.body);
    const state = eventLogFaults.get(workspace.name);
    const raw = url.searchParams.get('cursor');
    // The log's page ordinal: 1 without a cursor, else 2 (enough for "page 1" and "a later page").
    const decision = state?.decide(raw ? 2 : 1, 'cursor') ?? { holdMs: 0, response: { kind: 'ok' } as FaultResponse };
    await hold(decision.holdMs, res);
    if (gone(res)) return;
    const response = decision.response;
    switch (response.kind) {
      case 'rateLimited':
        return sendRateLimitedFault(res, response, {});
      case 'status':
        return send(res, response.status, { message: 'Server Error' });
      case 'successFalse':
        return send(res, 200, successFalse(response.message));
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"data":[{"id":1,"uuid":"trunc');
      case 'missingMeta': {
        const { meta: _meta, ...withoutMeta } = answer.body as { meta: unknown };
        return send(res, 200, withoutMeta);
      }
      case 'endless':
        return sendEndlessBody(res, { id: 1 });
      case 'trickle':
        return sendTricklingBody(res, response.intervalMs);
      case 'ok':
        return send(res, 200, answer.body);
    }
  }

  /** One record by id: EmailBison checks the record's workspace against the key's. */
  function senderEmail(workspace: SimWorkspace, id: string, res: ServerResponse): void {
    const found = /^\d+$/.test(id) ? store.findAccount(Number(id)) : undefined;
    if (!found) send(res, 404, recordNotFound(id));
    else if (found.workspace !== workspace) send(res, 403, WRONG_WORKSPACE);
    else send(res, 200, { data: found.account });
  }

  async function senderEmails(
    workspace: SimWorkspace,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    entry: SimRequest,
  ): Promise<void> {
    const mode = answerMode(paginationForThisRequest(), url.searchParams);
    entry.pagination = mode;
    const page = pageParameter(url.searchParams.get('page'));
    if (mode === 'page' && pageCap !== undefined && page > pageCap) return sendPageCapExceeded(res, pageCap, pageCapAnswer);
    const rawCursor = url.searchParams.get('cursor');
    const cursor = mode === 'cursor' && rawCursor ? decodeCursor(rawCursor) : undefined;
    if (mode === 'cursor' && rawCursor && !cursor && invalidCursor === 'reject') return send(res, 422, invalidCursorBody());

    const state = faults.get(workspace.name);
    const drift = state?.arrive();
    if (drift) {
      store.remove(workspace.name, drift.remove);
      store.add(workspace.name, drift.add);
    }
    const size = honourPerPage ? perPageParameter(url.searchParams.get('per_page')) : PAGE_SIZE;
    const ordinal = mode === 'page' ? page : cursorPageOrdinal(workspace.accounts, cursor, size);
    const decision = state?.decide(ordinal, mode) ?? { holdMs: 0, response: { kind: 'ok' } as FaultResponse };
    await hold(decision.holdMs, res);
    if (gone(res)) return;
    const body = () => {
      const accounts = state?.faults.emptyResponse ? [] : workspace.accounts;
      const path = `${baseUrl(req)}/api/sender-emails`;
      const served = mode === 'page' ? pageBody(accounts, page, path, size) : cursorBody(accounts, cursor, path, size);
      const cycle = state?.faults.cursorCycle;
      if (mode === 'cursor' && cycle !== undefined && ordinal === cycle + 1 && 'next_cursor' in served.meta) {
        // Back to where page 1 pointed: the cursors go round (SimFaults.cursorCycle).
        const back = cursorBody(accounts, undefined, path, size).meta.next_cursor;
        const data = served.data.map((account) => (state ? state.present(account) : account));
        return { data, links: { ...served.links, next: `${path}?cursor=${back}` }, meta: { ...served.meta, next_cursor: back } };
      }
      return { ...served, data: served.data.map((account) => (state ? state.present(account) : account)) };
    };
    return answerPage(res, decision.response, body, workspace.accounts[0] ?? { id: 1 });
  }

  /**
   * GET /api/warmup/sender-emails?start_date&end_date (page mode, 15 a page, ascending id) and
   * GET /api/warmup/sender-emails/{id} with the same dates: the accounts' warmup figures over the
   * range (sim/warmup.ts). The same faults as the account list, page by page.
   */
  async function warmupRoute(
    workspace: SimWorkspace,
    id: string | undefined,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    entry: SimRequest,
  ): Promise<void> {
    const range = warmupRange(url.searchParams);
    if (!range.ok) return send(res, 422, range.body);
    if (id !== undefined) {
      const found = /^\d+$/.test(id) ? store.findAccount(Number(id)) : undefined;
      if (!found) return send(res, 404, recordNotFound(id));
      if (found.workspace !== workspace) return send(res, 403, WRONG_WORKSPACE);
      return send(res, 200, { data: warmup.item(found.account, range.days) });
    }
    entry.pagination = 'page';
    const page = pageParameter(url.searchParams.get('page'));
    const state = faults.get(workspace.name);
    const decision = state?.decide(page, 'page') ?? { holdMs: 0, response: { kind: 'ok' } as FaultResponse };
    await hold(decision.holdMs, res);
    if (gone(res)) return;
    const body = () => {
      const accounts = state?.faults.emptyResponse ? [] : workspace.accounts;
      const items = accounts.map((account) => warmup.item(account, range.days));
      return pageBody(items, page, `${baseUrl(req)}${WARMUP_LIST_PATH}`);
    };
    return answerPage(res, decision.response, body, workspace.accounts[0] ? warmup.item(workspace.accounts[0], range.days) : { id: 1 });
  }

  /** The instance's mode for this list request, applying a pending switch when its count is reached. */
  function paginationForThisRequest(): PaginationMode {
    if (pendingSwitch) {
      if (pendingSwitch.remaining <= 0) {
        pagination = pendingSwitch.to;
        pendingSwitch = undefined;
      } else {
        pendingSwitch.remaining -= 1;
      }
    }
    return pagination;
  }

  function latencyMs(): number {
    return typeof latency === 'number' ? latency : intBetween(latencyRandom, latency.minMs, latency.maxMs);
  }

  function gone(res: ServerResponse): boolean {
    return closing || res.destroyed || res.writableEnded;
  }

  function targets(workspaceName: string | '*'): string[] {
    return workspaceName === '*' ? store.list().map((workspace) => workspace.name) : [store.get(workspaceName).name];
  }

  async function listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    listening = true;
  }

  /** Stops accepting connections and cuts the open ones (held requests end with them). */
  async function stopListening(): Promise<void> {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  await listen(options.port ?? 0);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  instanceUrl = `http://${host}:${address.port}`;

  async function setUnreachable(mode: SimUnreachable | false): Promise<void> {
    unreachable = mode;
    if (mode === 'refuse') await stopListening();
    else if (!listening && !closing) await listen(address.port);
  }
  if (options.unreachable) await setUnreachable(options.unreachable);

  return {
    url: `http://${host}:${address.port}`,
    workspaces: () =>
      store
        .list()
        .map((workspace) => ({ id: workspace.id, name: workspace.name, apiKey: workspace.apiKey, total: workspace.accounts.length })),
    truth: (workspaceName) => store.truth(workspaceName),
    setFaults(workspaceName, workspaceFaults) {
      faultGeneration += 1;
      for (const name of targets(workspaceName)) {
        faults.set(name, new WorkspaceFaults(workspaceFaults, randomFor(spec.seed, 'faults', name, faultGeneration)));
      }
    },
    clearFaults: () => {
      faults.clear();
      eventLogFaults.clear();
    },
    setEventLogFaults(workspaceName, logFaults) {
      faultGeneration += 1;
      for (const name of targets(workspaceName)) {
        if (logFaults)
          eventLogFaults.set(name, new WorkspaceFaults(logFaults, randomFor(spec.seed, 'event-log-faults', name, faultGeneration)));
        else eventLogFaults.delete(name);
      }
    },
    setEventLog(served) {
      eventLogServed = served;
    },
    eventLog: (workspaceName) => eventLog.items(workspaceName === undefined ? undefined : store.get(workspaceName).name),
    backdateEvent: (id, createdAt) => eventLog.backdate(id, createdAt),
    setLatency(next) {
      latency = next;
    },
    addAccounts: (workspaceName, count) => store.add(workspaceName, count),
    removeAccounts: (workspaceName, count) => store.remove(workspaceName, count),
    updateAccounts: (workspaceName, count) => store.update(workspaceName, count),
    patchAccount: (workspaceName, id, fields) => store.patch(workspaceName, id, fields),
    counters: (workspaceName) => counters.snapshot(workspaceName === undefined ? undefined : store.get(workspaceName).name),
    resetCounters() {
      counters.reset();
      log.clear();
    },
    pagination: () => pagination,
    setPagination(mode, switchOptions = {}) {
      checkedMode(mode);
      const afterRequests = switchOptions.afterRequests;
      if (afterRequests === undefined) {
        pagination = mode;
        pendingSwitch = undefined;
        return;
      }
      if (!Number.isInteger(afterRequests) || afterRequests < 0)
        throw new Error(`setPagination: afterRequests must be a whole number, got ${afterRequests}`);
      pendingSwitch = { remaining: afterRequests, to: mode };
    },
    setPageCap(cap, answer) {
      pageCap = checkedCap(cap);
      if (answer !== undefined) pageCapAnswer = checkedCapAnswer(answer);
    },
    setRateLimit(rate) {
      limiter = rate ? new FixedWindowLimiter(rate, now) : undefined;
    },
    setUsersRoute(enabled) {
      usersRoute = enabled;
    },
    setWarmupRoute(enabled) {
      warmupRouteOn = enabled;
    },
    setWarmup,
    warmupTruth: (workspaceName, day) => store.get(workspaceName).accounts.map((account) => warmup.item(account, [day])),
    setInvalidCursor(answer) {
      invalidCursor = answer;
    },
    setHonourPerPage(honour) {
      honourPerPage = honour;
    },
    mintKey: (workspaceName) => store.mintKey(workspaceName),
    bindKey: (apiKey, workspaceName) => store.bindKey(apiKey, workspaceName),
    revokeKey: (apiKey) => store.revokeKey(apiKey),
    keyBinding: (apiKey) => store.byKey(apiKey)?.name,
    setAdminKey(key) {
      admin.adminKey = key;
    },
    setTokenMintFailure(failure) {
      admin.mintFailure = failure;
    },
    mintedTokens: () => admin.minted(),
    workspaceSecrets: (workspaceName) => workspaceSecrets(store.get(workspaceName), spec.seed),
    requestLog: () => log.entries(),
    clearRequestLog: () => log.clear(),
    setUnreachable,
    changeAccount,
    badDay: (request) => badDay({ copies: 1, concurrency: BAD_DAY_CONCURRENCY, ...request }),
    addAccountWithEvent: addAccount,
    webhookDeliveries: (): SimDelivery[] => webhooks.deliveries(),
    webhookSubscriptions: (workspaceName) => webhooks.list(store.get(workspaceName).name),
    async close() {
      closing = true;
      for (const release of [...holds]) release();
      await stopListening();
      await webhooks.close();
    },
  };
}

/** A list page as the fault decided: the page itself, or the fault's answer in its place. */
function answerPage(
  res: ServerResponse,
  response: FaultResponse,
  body: () => { meta?: unknown },
  endlessItem: unknown,
): void | Promise<void> {
  switch (response.kind) {
    case 'rateLimited':
      return sendRateLimitedFault(res, response, {});
    case 'status':
      return send(res, response.status, { message: 'Server Error' });
    case 'successFalse':
      return send(res, 200, successFalse(response.message));
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"data":[{"id":1,"email":"trunc');
    case 'missingMeta': {
      const { meta: _meta, ...withoutMeta } = body();
      return send(res, 200, withoutMeta);
    }
    case 'endless':
      return sendEndlessBody(res, endlessItem);
    case 'trickle':
      return sendTricklingBody(res, response.intervalMs);
    case 'ok':
      return send(res, 200, body());
  }
}

function checkedMode(mode: PaginationMode): PaginationMode {
  if (!PAGINATION_MODES.includes(mode)) throw new Error(`unknown pagination mode "${mode}"; known: ${PAGINATION_MODES.join(', ')}`);
  return mode;
}

function checkedCap(cap: number | undefined): number | undefined {
  if (cap !== undefined && (!Number.isInteger(cap) || cap < 1)) throw new Error(`page cap must be a whole number >= 1, got ${cap}`);
  return cap;
}

function checkedCapAnswer(answer: PageCapAnswer): PageCapAnswer {
  if (!PAGE_CAP_ANSWERS.includes(answer)) throw new Error(`unknown page cap answer "${answer}"; known: ${PAGE_CAP_ANSWERS.join(', ')}`);
  return answer;
}

function resolveSpec(options: SimOptions): ScenarioSpec {
  if (typeof options.scenario === 'string') return scenarioSpec(options.scenario, options.seed);
  return options.seed === undefined ? options.scenario : { ...options.scenario, seed: options.seed };
}

const ROUTES: Record<string, 'senderEmails' | 'workspaces' | 'users'> = {
  '/api/sender-emails': 'senderEmails',
  '/api/workspaces/v1.1': 'workspaces',
  '/api/users': 'users',
};

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    return undefined;
  }
}

/** Deliveries a bad day keeps in flight at once: a sender's worker pool, not one connection per event. */
const BAD_DAY_CONCURRENCY = 256;

/** The bad day's request, or what is wrong with it. */
function badDayRequest(
  body: Record<string, unknown> | undefined,
): { accounts: number; workspaces: number; copies: number; concurrency: number; webhooks: boolean } | string {
  const whole = (value: unknown, min: number, max: number) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
  const accounts = whole(body?.accounts, 1, 100_000);
  const workspaces = whole(body?.workspaces, 1, 10_000);
  const copies = body?.copies === undefined ? 1 : whole(body.copies, 1, 5);
  const concurrency = body?.concurrency === undefined ? BAD_DAY_CONCURRENCY : whole(body.concurrency, 1, 10_000);
  const webhooks = body?.webhooks === undefined ? true : typeof body.webhooks === 'boolean' ? body.webhooks : undefined;
  if (accounts === undefined || workspaces === undefined || copies === undefined || concurrency === undefined || webhooks === undefined)
    return 'Give {"accounts": 1..100000, "workspaces": 1..10000, "copies": 1..5 (optional), "concurrency": 1..10000 (optional, 256), "webhooks": false (optional: change the accounts, log the events, deliver nothing)}.';
  return { accounts, workspaces, copies, concurrency, webhooks };
}

function subscriptionFields(body: unknown): { name: string; url: string; events: string[] } | undefined {
  const record = body as { name?: unknown; url?: unknown; events?: unknown } | undefined;
  if (typeof record?.name !== 'string' || typeof record.url !== 'string' || !Array.isArray(record.events)) return undefined;
  return { name: record.name, url: record.url, events: record.events.map(String) };
}

function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

function baseUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'localhost'}`;
}
