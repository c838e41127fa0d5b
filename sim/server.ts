import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestCounters, type SimCounters } from './counters';
import type { RawSenderEmail, SimWorkspace } from './data';
import { WorkspaceFaults, type FaultResponse, type SimFaults } from './faults';
import { intBetween, randomFor } from './random';
import { scenarioSpec, type ScenarioSpec } from './scenarios';
import { SimStore } from './store';

export type { RawSenderEmail, SimWorkspace } from './data';
export type { SimFaults } from './faults';
export type { SimCounters } from './counters';
export type { ScenarioSpec } from './scenarios';

export type SimLatency = number | { minMs: number; maxMs: number };

export interface EmailBisonSim {
  /** http://127.0.0.1:PORT, the base URL a client is given (no /api). */
  url: string;
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
  resetCounters(): void;
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
}

/** EmailBison serves 15 per page whatever per_page asks for. */
export const PAGE_SIZE = 15;

export async function startEmailBisonSim(options: SimOptions): Promise<EmailBisonSim> {
  const spec = resolveSpec(options);
  const store = new SimStore(spec);
  const counters = new RequestCounters();
  const faults = new Map<string, WorkspaceFaults>();
  const latencyRandom = randomFor(spec.seed, 'latency');
  const holds = new Set<() => void>();
  let faultGeneration = 0;
  let latency: SimLatency = options.latencyMs ?? 0;
  let closing = false;

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
    const workspace = store.byKey(bearer(req) ?? '');
    const end = counters.begin(workspace?.name);
    res.on('finish', () => end(res.statusCode));
    res.on('close', () => end());

    const url = new URL(req.url ?? '/', 'http://sim');
    await hold(latencyMs(), res);
    if (gone(res)) return;
    const route = ROUTES[url.pathname.replace(/\/+$/, '')];
    if (!route) return send(res, 404, { message: 'Not Found' });
    if (req.method !== 'GET') return send(res, 405, { message: 'Method Not Allowed' });
    if (!workspace || faults.get(workspace.name)?.faults.rejectKey) return send(res, 401, { message: 'Unauthenticated.' });
    if (route === 'workspaces') return send(res, 200, { data: [workspaceResource(workspace)] });
    if (route === 'users') return send(res, 200, { data: userResource(workspace) });
    await senderEmails(workspace, url, req, res);
  }

  async function senderEmails(workspace: SimWorkspace, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const page = pageParameter(url.searchParams.get('page'));
    const state = faults.get(workspace.name);
    const drift = state?.arrive();
    if (drift) {
      store.remove(workspace.name, drift.remove);
      store.add(workspace.name, drift.add);
    }
    const decision = state?.decide(page) ?? { holdMs: 0, response: { kind: 'ok' } as FaultResponse };
    await hold(decision.holdMs, res);
    if (gone(res)) return;
    const response = decision.response;
    switch (response.kind) {
      case 'rateLimited':
        return sendRateLimited(res, response);
      case 'status':
        return send(res, response.status, { message: 'Server Error' });
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"data":[{"id":1,"email":"trunc');
      case 'missingMeta': {
        const { meta: _meta, ...withoutMeta } = pageBody(workspace, page, state, baseUrl(req));
        return send(res, 200, withoutMeta);
      }
      case 'ok':
        return send(res, 200, pageBody(workspace, page, state, baseUrl(req)));
    }
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    workspaces: () =>
      store.list().map((workspace) => ({ id: workspace.id, name: workspace.name, apiKey: workspace.apiKey, total: workspace.accounts.length })),
    truth: (workspaceName) => store.truth(workspaceName),
    setFaults(workspaceName, workspaceFaults) {
      faultGeneration += 1;
      for (const name of targets(workspaceName)) {
        faults.set(name, new WorkspaceFaults(workspaceFaults, randomFor(spec.seed, 'faults', name, faultGeneration)));
      }
    },
    clearFaults: () => faults.clear(),
    setLatency(next) {
      latency = next;
    },
    addAccounts: (workspaceName, count) => store.add(workspaceName, count),
    removeAccounts: (workspaceName, count) => store.remove(workspaceName, count),
    updateAccounts: (workspaceName, count) => store.update(workspaceName, count),
    patchAccount: (workspaceName, id, fields) => store.patch(workspaceName, id, fields),
    counters: (workspaceName) => counters.snapshot(workspaceName === undefined ? undefined : store.get(workspaceName).name),
    resetCounters: () => counters.reset(),
    async close() {
      closing = true;
      for (const release of [...holds]) release();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
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

function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** Laravel reads a missing or nonsensical page as page 1. */
function pageParameter(value: string | null): number {
  const page = Number(value);
  return Number.isInteger(page) && page >= 1 ? page : 1;
}

function baseUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'localhost'}`;
}

/** Laravel's paginated resource shape. */
function pageBody(workspace: SimWorkspace, page: number, faults: WorkspaceFaults | undefined, base: string) {
  const accounts = faults?.faults.emptyResponse ? [] : workspace.accounts;
  const total = accounts.length;
  const lastPage = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const offset = (page - 1) * PAGE_SIZE;
  const data = accounts.slice(offset, offset + PAGE_SIZE).map((account) => (faults ? faults.present(account) : account));
  const path = `${base}/api/sender-emails`;
  return {
    data,
    links: {
      first: `${path}?page=1`,
      last: `${path}?page=${lastPage}`,
      prev: page > 1 ? `${path}?page=${page - 1}` : null,
      next: page < lastPage ? `${path}?page=${page + 1}` : null,
    },
    meta: {
      current_page: page,
      from: data.length > 0 ? offset + 1 : null,
      last_page: lastPage,
      per_page: PAGE_SIZE,
      to: data.length > 0 ? offset + data.length : null,
      total,
      path,
    },
  };
}

function workspaceResource(workspace: SimWorkspace) {
  return { id: workspace.id, name: workspace.name, personal_team: false, created_at: '2023-01-09T10:00:00.000000Z', updated_at: '2025-06-02T08:30:00.000000Z' };
}

function userResource(workspace: SimWorkspace) {
  return {
    id: 5000 + workspace.id,
    name: `${workspace.name} API`,
    email: `api-user+${workspace.id}@emailbison.test`,
    team: { id: workspace.id, name: workspace.name, personal_team: false },
  };
}

function sendRateLimited(res: ServerResponse, response: Extract<FaultResponse, { kind: 'rateLimited' }>): void {
  const seconds = response.retryAfterSeconds;
  if (seconds === null) return send(res, 429, { message: 'Too Many Attempts.' });
  if (response.inBody) return send(res, 429, { error: 'rate_limited', retry_after: seconds });
  const retryAfter = response.asDate ? new Date(Date.now() + seconds * 1000).toUTCString() : String(seconds);
  send(res, 429, { message: 'Too Many Attempts.' }, { 'retry-after': retryAfter });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
