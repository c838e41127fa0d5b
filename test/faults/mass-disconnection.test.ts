import type { ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BadDaySummary } from '../../sim/server';
import { cli, startCli } from '../helpers/cli';
import { createTestDatabase } from '../helpers/database';
import { createWorld, runJobDirectly, type World } from '../helpers/world';

/*
 * Fault scenario "mass disconnection" (issue 19): an instance's bad day. 40 workspaces x 50
 * accounts disconnect at once and the simulator delivers each event to its workspace's
 * subscription, twice (a sender that timed out and retried), all 4,000 at once, through
 * `sender-sync webhooks serve` (its own process). Each workspace is subscribed with its own
 * URL (`webhooks register --url <serve's base>`: its id, its EmailBison id and its token), as
 * EmailBison holds them. Every answer is 2xx and quick because the receiver only checks the
 * token, validates and queues; the applier brings every account to "Not connected" with one change
 * row, on at most 3 connections; each workspace gets one digest naming its 50; and the next
 * sync writes no change row for them.
 */
const WORKSPACES = 40;
const ACCOUNTS_EACH = 50;
const db = await createTestDatabase();
let world: World;
let serve: { child: ChildProcess; result: Promise<unknown> };
let stderr = '';
let env: Record<string, string>;
let summary: BadDaySummary;
let appliedWithinMs: number;
let peakConnections = 0;
let peakOther = 0;

const disconnectedByWebhook = async () => {
  const [row] = await db.sql<{ accounts: number; rows: number }[]>`
    select count(distinct (workspace_id, emailbison_id))::int as accounts, count(*)::int as rows
    from sender_email_changes where source = 'webhook' and field = 'status' and new_value = '"Not connected"'
  `;
  return row;
};

beforeAll(async () => {
  // 80 accounts each, so every workspace has at least 50 Connected ones to lose.
  world = await createWorld(db.sql, { scenario: `grid:${WORKSPACES}:80` });
  await runJobDirectly(world.deps);
  env = {
    DATABASE_URL: db.url,
    SENDER_SYNC_SECRETS_FILE: world.secretsFile,
    LOG_LEVEL: process.env.MASS_LOG_LEVEL ?? 'WARN',
  };
  serve = startCli(['webhooks', 'serve', '--port', '0'], env);
  serve.child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.child.stdout!.on('data', (chunk) => {
      out += String(chunk);
      // The base URL alone, then the command that prints each workspace's URL.
      const line = /^(http:\/\/127\.0\.0\.1:\d+)\nsender-sync webhooks url --base \1\n/.exec(out);
      if (line) resolve(line[1]);
    });
    serve.result.then(() => reject(new Error(`webhooks serve exited: ${stderr}`)));
  });
  const registered = await cli(['webhooks', 'register', '--url', base, '--json'], env);
  expect(registered.code, registered.stderr).toBe(0);
  expect(JSON.parse(registered.stdout).registered.map((r: { outcome: string }) => r.outcome)).toEqual(Array(WORKSPACES).fill('created'));
  // One subscription per workspace, each with its own path (/emailbison/<id>/<EmailBison id>/<token>).
  const urls = world.sim.workspaces().map((workspace) => world.sim.webhookSubscriptions(workspace.name).map((s) => s.url));
  expect(urls.every((list) => list.length === 1)).toBe(true);
  expect(new Set(urls.flat().map((url) => url.replace(/\/[^/]+$/, ''))).size).toBe(WORKSPACES);
  expect(urls.flat().every((url) => url.startsWith(`${base}/emailbison/`))).toBe(true);

  // Connections of the serve process (its pool is named), and of anyone else but this sampler, every 50 ms.
  const sampler = postgres(db.url, { max: 1, connection: { application_name: 'mass-disconnection-sampler' }, onnotice: () => {} });
  let sampling = true;
  const sampled = (async () => {
    while (sampling) {
      const [row] = await sampler<{ serve: number; other: number }[]>`
        select count(*) filter (where application_name = 'sender-sync:webhook')::int as serve,
               count(*) filter (where application_name not in ('sender-sync:webhook', 'mass-disconnection-sampler', 'sender-sync'))::int as other
        from pg_stat_activity where datname = current_database()
      `;
      peakConnections = Math.max(peakConnections, row.serve);
      peakOther = Math.max(peakOther, row.other);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const started = Date.now();
    summary = await world.sim.badDay({ accounts: WORKSPACES * ACCOUNTS_EACH, workspaces: WORKSPACES, copies: 2 });
    while ((await disconnectedByWebhook()).accounts < WORKSPACES * ACCOUNTS_EACH && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    appliedWithinMs = Date.now() - started;
    // The digests: each once its workspace had no new change for 10 s (the default gather), then the tick.
    while ((stderr.match(/^\[changes\] /gm) ?? []).length < WORKSPACES && Date.now() - started < 75_000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    sampling = false;
    await sampled;
    await sampler.end();
  }
  console.log(
    `mass disconnection: ${summary.deliveries} deliveries answered ${JSON.stringify(summary.statuses)} in ${summary.durationMs} ms ` +
      `(p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms); ` +
      `all applied within ${appliedWithinMs} ms; serve's connections at most ${peakConnections}; ` +
      `${(stderr.match(/^\[changes\] /gm) ?? []).length} digests`,
  );
}, 180_000);

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.result;
  await world?.sim.close();
});

describe('mass disconnection through `webhooks serve`', () => {
  it('answers all 4,000 deliveries 2xx without waiting for the database', () => {
    expect(summary.accounts).toBe(WORKSPACES * ACCOUNTS_EACH);
    expect(summary.deliveries).toBe(2 * WORKSPACES * ACCOUNTS_EACH);
    expect(summary.statuses).toEqual({ 200: 2 * WORKSPACES * ACCOUNTS_EACH });
    // The p99 < 1 s target is the bench's (`npm run bench -- --only webhooks`, the machine to
    // itself; the figure above is printed for the record): inside the whole suite other test
    // files share the two cores. This bound still fails a receiver that applies before it
    // answers, as the one before the intake did (p50 24.6 s for 1,000 deliveries).
    expect(summary.latencyMs.p99).toBeLessThan(5_000);
  });

  it('disconnects every account within 30 s, with exactly one status change row each', async () => {
    expect(appliedWithinMs).toBeLessThan(30_000);
    expect(await disconnectedByWebhook()).toEqual({ accounts: WORKSPACES * ACCOUNTS_EACH, rows: WORKSPACES * ACCOUNTS_EACH });
    const [{ notDisconnected }] = await db.sql<{ notDisconnected: number }[]>`
      select count(*)::int as "notDisconnected" from sender_emails se
      where exists (select 1 from sender_email_changes c where c.workspace_id = se.workspace_id and c.emailbison_id = se.emailbison_id and c.source = 'webhook')
        and se.status <> 'Not connected'
    `;
    expect(notDisconnected).toBe(0);
  });

  it('opens at most 3 database connections for the intake and the applier together (5 allowed)', () => {
    expect(peakConnections).toBeGreaterThan(0);
    expect(peakConnections).toBeLessThanOrEqual(3);
    expect(peakOther).toBe(0);
  });

  it('sends one digest per workspace, naming its 50 accounts, each under 200 KB', () => {
    const messages = stderr.split(/^\[changes\] /m).slice(1);
    expect(messages).toHaveLength(WORKSPACES);
    const subjects = messages.map((message) => message.split('\n')[0]);
    expect(new Set(subjects).size).toBe(WORKSPACES);
    for (const message of messages) {
      expect(message).toMatch(/^sender-sync: 50 disconnected in /);
      expect(Buffer.byteLength(message)).toBeLessThan(200 * 1024);
    }
  });

  it('a sync afterwards writes no change row for them', async () => {
    const job = await runJobDirectly(world.deps);
    expect(job.status).toBe('completed');
    const [{ rows }] = await db.sql<{ rows: number }[]>`
      select count(*)::int as rows from sender_email_changes s
      where s.source = 'sync' and s.field = 'status' and s.job_id = ${job.jobId}
        and exists (select 1 from sender_email_changes w where w.source = 'webhook' and w.workspace_id = s.workspace_id and w.emailbison_id = s.emailbison_id)
    `;
    expect(rows).toBe(0);
  });
});
