import { parseArgs } from 'node:util';
import { PAGINATION_MODES, type PaginationMode } from './pagination';
import { startEmailBisonSim, type SimLatency, type SimOptions } from './server';

/**
 * `npm run emailbison-sim -- --scenario seed-2025 [--port 4010] [--latency-ms 40 | 20-120] [--seed N] [--host H]
 *   [--pagination page|cursor-default|cursor-only|page-only] [--page-cap N] [--rate N [--rate-window S]]
 *   [--invalid-cursor first-page|reject] [--honour-per-page] [--no-users-route] [--no-warmup-route] [--unreachable hang|refuse]`
 * Serves the scenario until Ctrl-C. The first line printed is `listening on <url>`, the second
 * says how the instance behaves (pagination, page cap, rate limit, /api/users). See SimOptions.
 */
const USAGE = [
  'usage: npm run emailbison-sim -- --scenario seed-2025|seed-2026|grid:N:M [--port 4010] [--latency-ms N|MIN-MAX] [--seed N] [--host 127.0.0.1]',
  '         [--pagination page|cursor-default|cursor-only|page-only] [--page-cap N] [--rate N] [--rate-window SECONDS (default 1)]',
  '         [--invalid-cursor first-page|reject] [--honour-per-page] [--no-users-route] [--no-warmup-route] [--unreachable hang|refuse]',
  '         [--admin-key KEY (a super-admin key: lists workspaces, mints api-user keys; for `sender-sync workspaces discover`)]',
  "         [--webhook-url URL (every workspace's events to this one URL: a workspace's own URL takes only its events)]",
  "         account changes, each delivered to the workspace's subscriptions (`sender-sync webhooks register`):",
  '           POST /_sim/accounts/{id}/disconnect|reconnect|remove|warmup-disabled-causing-bounces|warmup-disabled-receiving-bounces,',
  '           POST /_sim/accounts {"workspace": NAME}, a bad day: POST /_sim/bad-day {"accounts": N, "workspaces": M, "copies": 2}',
  '         warmup figures of an account for a day: POST /_sim/warmup {"account": ID, "day": "YYYY-MM-DD", "warmup_score": 41, ...}',
].join('\n');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'seed-2025' },
      port: { type: 'string', default: '4010' },
      'latency-ms': { type: 'string' },
      seed: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      pagination: { type: 'string', default: 'page' },
      'page-cap': { type: 'string' },
      rate: { type: 'string' },
      'rate-window': { type: 'string', default: '1' },
      'invalid-cursor': { type: 'string', default: 'first-page' },
      'no-users-route': { type: 'boolean', default: false },
      'no-warmup-route': { type: 'boolean', default: false },
      'honour-per-page': { type: 'boolean', default: false },
      unreachable: { type: 'string' },
      'admin-key': { type: 'string' },
      'webhook-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const options: SimOptions = {
    scenario: values.scenario,
    port: wholeNumber('--port', values.port),
    latencyMs: values['latency-ms'] === undefined ? undefined : parseLatency(values['latency-ms']),
    seed: values.seed === undefined ? undefined : wholeNumber('--seed', values.seed),
    host: values.host,
    pagination: oneOf('--pagination', values.pagination, PAGINATION_MODES) as PaginationMode,
    pageCap: values['page-cap'] === undefined ? undefined : wholeNumber('--page-cap', values['page-cap']),
    rateLimit:
      values.rate === undefined
        ? undefined
        : { requests: wholeNumber('--rate', values.rate), windowSeconds: positive('--rate-window', values['rate-window']) },
    invalidCursor: oneOf('--invalid-cursor', values['invalid-cursor'], ['first-page', 'reject'] as const),
    usersRoute: !values['no-users-route'],
    warmupRoute: !values['no-warmup-route'],
    honourPerPage: values['honour-per-page'],
    unreachable: values.unreachable === undefined ? undefined : oneOf('--unreachable', values.unreachable, ['hang', 'refuse'] as const),
    adminKey: values['admin-key'],
    webhookUrl: values['webhook-url'],
  };
  const sim = await startEmailBisonSim(options);

  const workspaces = sim.workspaces();
  const nameWidth = Math.max(...workspaces.map((workspace) => workspace.name.length), 'workspace'.length);
  console.log(`listening on ${sim.url}`);
  console.log(describeInstance(options));
  console.log(`scenario ${values.scenario}: ${workspaces.length} workspaces, ${workspaces.reduce((sum, w) => sum + w.total, 0)} accounts`);
  console.log(`${'id'.padStart(4)}  ${'workspace'.padEnd(nameWidth)}  ${'accounts'.padStart(8)}  key`);
  for (const workspace of workspaces) {
    console.log(
      `${String(workspace.id).padStart(4)}  ${workspace.name.padEnd(nameWidth)}  ${String(workspace.total).padStart(8)}  ${workspace.apiKey}`,
    );
  }
  console.log(
    `try: curl -H "Authorization: Bearer ${workspaces[0]?.apiKey}" ${sim.url}/api/sender-emails?${options.pagination?.startsWith('cursor') ? 'pagination_type=cursor' : 'page=1'}`,
  );
  if (options.adminKey)
    console.log(`super-admin key given: try: echo <key> | npx sender-sync workspaces discover --base-url ${sim.url} [--mint-keys]`);
  console.log('Ctrl-C to stop');

  const stop = (signal: string) => {
    console.log(`${signal}: shutting down`);
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} must be a whole number, got "${text}"`);
  return value;
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${flag} must be a number > 0, got "${text}"`);
  return value;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) throw new Error(`${flag} must be one of ${allowed.join(', ')}, got "${text}"`);
  return text as T;
}

/** One line saying how this instance answers, so a log of the run shows what it ran against. */
function describeInstance(options: SimOptions): string {
  const rate = options.rateLimit
    ? `${options.rateLimit.requests} requests per ${options.rateLimit.windowSeconds} s window (whole instance)`
    : 'off';
  return [
    `pagination ${options.pagination}`,
    `page cap ${options.pageCap ?? 'none'}`,
    `rate limit ${rate}`,
    `invalid cursor ${options.invalidCursor}`,
    `per_page ${options.honourPerPage ? 'honoured (max 100)' : 'ignored (15)'}`,
    `/api/users ${options.usersRoute ? 'on' : 'off (404)'}`,
    `/api/warmup ${options.warmupRoute ? 'on' : 'off (404)'}`,
    ...(options.unreachable ? [`unreachable: ${options.unreachable}`] : []),
    ...(options.webhookUrl ? ['webhooks delivered to --webhook-url (token hidden here)'] : []),
  ].join('; ');
}

function parseLatency(text: string): SimLatency {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { minMs: Number(range[1]), maxMs: Number(range[2]) };
  return wholeNumber('--latency-ms', text);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error(USAGE);
  process.exit(1);
});
