import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startCli } from '../helpers/cli';
import { createTestDatabase } from '../helpers/database';
import { createWorld, runJobDirectly, type World } from '../helpers/world';

/*
 * The flow as an operator runs it: `webhooks serve` (the CLI, its own process), `webhooks
 * register` against the simulator, then accounts changed at the simulator, whose deliveries
 * reach the receiver before the change's answer comes back. The receiver's 200 means
 * accepted: the applier applies behind it, so each test waits for the row.
 */
const db = await createTestDatabase();
const WORKSPACE = 'Acme Outbound';
let world: World;
let serve: { child: ChildProcess; result: Promise<unknown> };
let receiverBase: string;
/** The workspace's own delivery URL, as `webhooks url` prints it. */
let deliveryUrl: string;
let workspaceId: number;
let env: Record<string, string>;

async function post(url: string, body: string) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function account(emailbisonId: number) {
  const [row] = await db.sql<{ status: string; deleted: boolean; webhook_changed_at: Date | null; raw: Record<string, unknown> }[]>`
    select status, deleted_at is not null as deleted, webhook_changed_at, raw
    from sender_emails where workspace_id = ${workspaceId} and emailbison_id = ${emailbisonId}
  `;
  return row;
}

async function changeRows(emailbisonId: number) {
  return db.sql<{ field: string; old_value: unknown; new_value: unknown; source: string; delivery_key: string | null }[]>`
    select field, old_value, new_value, source, delivery_key from sender_email_changes
    where workspace_id = ${workspaceId} and emailbison_id = ${emailbisonId} order by id
  `;
}

/** Polls until `check` holds (or 10 s pass), then returns its last value. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const until = Date.now() + 10_000;
  let value = await read();
  while (!check(value) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

/** Time for the applier to take what was accepted, when what is checked is that nothing changed. */
const applierPause = () => new Promise((resolve) => setTimeout(resolve, 1500));

let connectedAtStart: { id: number; status: string }[];
/** The n-th account that was Connected after the first sync: each test takes its own. */
function connectedAccount(n: number) {
  return connectedAtStart[n];
}

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [WORKSPACE] });
  await runJobDirectly(world.deps);
  connectedAtStart = world.sim.truth(WORKSPACE).filter((a) => a.status === 'Connected');
  [{ id: workspaceId }] = await db.sql<{ id: number }[]>`select id from workspaces where name = ${WORKSPACE}`;
  env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: world.secretsFile, LOG_LEVEL: 'ERROR' };
  serve = startCli(['webhooks', 'serve', '--port', '0'], env);
  let printed = '';
  receiverBase = await new Promise<string>((resolve, reject) => {
    serve.child.stdout!.on('data', (chunk) => {
      printed += String(chunk);
      const lines = /^(http:\/\/127\.0\.0\.1:\d+)\nsender-sync webhooks url --base (\S+)$/m.exec(printed);
      if (lines) resolve(lines[2]);
    });
    serve.result.then(() => reject(new Error(`webhooks serve exited: ${printed}`)));
  });
  expect(printed.split('\n')[0]).toBe(receiverBase);
  const urls = await cli(['webhooks', 'url', '--base', receiverBase, '--json'], env);
  expect(urls.code, urls.stderr).toBe(0);
  [{ url: deliveryUrl }] = JSON.parse(urls.stdout);
});

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.result;
  await world?.sim.close();
});

describe('webhooks through `webhooks serve` and the simulator', () => {
  it('registers one subscription per workspace, with its own URL, to the eight account events, idempotently, never printing the token', async () => {
    const origin = receiverBase;
    const token = deliveryUrl.split('/').pop()!;
    const first = await cli(['webhooks', 'register', '--url', origin, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const registered = JSON.parse(first.stdout).registered;
    expect(registered).toEqual([
      expect.objectContaining({ workspace: WORKSPACE, workspace_id: workspaceId, outcome: 'created', events: 8, error: null }),
    ]);
    const again = await cli(['webhooks', 'register', '--url', origin, '--json'], env);
    expect(JSON.parse(again.stdout).registered[0].outcome).toBe('unchanged');
    const [subscription] = world.sim.webhookSubscriptions(WORKSPACE);
    expect(world.sim.webhookSubscriptions(WORKSPACE)).toHaveLength(1);
    expect(subscription.url).toBe(deliveryUrl);
    expect(subscription.url).toMatch(new RegExp(`^${receiverBase}/emailbison/${workspaceId}/\\d+/[A-Za-z0-9_-]{43}$`));
    expect(subscription.events).toHaveLength(8);
    expect(subscription.events).toEqual(expect.arrayContaining(['warmup_disabled_causing_bounces', 'warmup_disabled_receiving_bounces']));
    const listed = await cli(['webhooks', 'list'], env);
    expect(listed.stdout).toContain(`/emailbison/${workspaceId}/`);
    expect(listed.stdout).toContain('/***');
    for (const output of [first, again, listed]) expect(output.stdout + output.stderr).not.toContain(token);
  });

  it('a disconnect delivered by the simulator is accepted, then updates the status and writes one change row', async () => {
    const target = connectedAccount(0);
    const before = Date.now();
    const { deliveries } = await world.sim.changeAccount(target.id, 'disconnect');
    expect(deliveries.map((d) => d.status)).toEqual([200]);
    const row = await eventually(
      () => account(target.id),
      (found) => found.status === 'Not connected',
    );
    expect(row.status).toBe('Not connected');
    expect(row.raw.status).toBe('Not connected');
    expect(row.webhook_changed_at!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const changes = await changeRows(target.id);
    expect(changes).toEqual([
      {
        field: 'status',
        old_value: 'Connected',
        new_value: 'Not connected',
        source: 'webhook',
        delivery_key: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
  });

  it('a replayed delivery changes nothing', async () => {
    const target = connectedAccount(1);
    const { deliveries } = await world.sim.changeAccount(target.id, 'disconnect');
    const rowBefore = await eventually(
      () => account(target.id),
      (found) => found.status === 'Not connected',
    );
    const replay = await post(deliveryUrl, deliveries[0].body);
    expect(replay).toEqual({ status: 200, body: { ok: true, accepted: true } });
    await applierPause();
    expect(await account(target.id)).toEqual(rowBefore);
    expect(await changeRows(target.id)).toHaveLength(1);
  });

  it('an older event does not overwrite newer state', async () => {
    const target = connectedAccount(2);
    const disconnected = await world.sim.changeAccount(target.id, 'disconnect');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await eventually(
      () => account(target.id),
      (found) => found.status === 'Not connected',
    );
    const reconnected = await world.sim.changeAccount(target.id, 'reconnect');
    expect(reconnected.deliveries[0].status).toBe(200);
    expect(
      (
        await eventually(
          () => account(target.id),
          (found) => found.status === 'Connected',
        )
      ).status,
    ).toBe('Connected');
    // The disconnect's delivery arrives late (EmailBison retried it), and not byte-identical (no replay).
    const late = JSON.parse(disconnected.deliveries[0].body);
    late.event.name = 'Email Account Disconnected (retried)';
    const answer = await post(deliveryUrl, JSON.stringify(late));
    expect(answer.status).toBe(200);
    await applierPause();
    expect((await account(target.id)).status).toBe('Connected');
    expect((await changeRows(target.id)).map((c) => c.new_value)).toEqual(['Not connected', 'Connected']);
  });

  it('removes and adds; the bare path of before is gone (404)', async () => {
    const target = connectedAccount(3);
    await world.sim.changeAccount(target.id, 'remove');
    expect(
      (
        await eventually(
          () => account(target.id),
          (found) => found.deleted,
        )
      ).deleted,
    ).toBe(true);
    const added = await world.sim.addAccountWithEvent(WORKSPACE);
    expect(added.deliveries[0].status).toBe(200);
    expect(
      await eventually(
        () => account(added.account.id),
        (found) => found !== undefined,
      ),
    ).toMatchObject({ status: added.account.status, deleted: false });
    expect((await changeRows(added.account.id)).map((c) => c.field)).toEqual(['added']);
    const other = connectedAccount(4);
    const body = JSON.parse((await world.sim.changeAccount(other.id, 'disconnect')).deliveries[0].body);
    body.data.sender_email.status = 'Disconnected';
    body.data.sender_email.updated_at = new Date(Date.now() + 1000).toISOString();
    const bare = await fetch(`${receiverBase}/emailbison/${deliveryUrl.split('/').pop()}`, { method: 'POST', body: JSON.stringify(body) });
    expect(bare.status).toBe(404);
    await applierPause();
    expect((await account(other.id)).status).toBe('Not connected');
  });

  it('the next sync writes no second change row for a change a webhook recorded, and keeps the status', async () => {
    // Meaningful once history's sync writes change rows (009's write path); before that merge the sync writes none.
    const target = connectedAccount(5);
    await world.sim.changeAccount(target.id, 'disconnect');
    await eventually(
      () => changeRows(target.id),
      (rows) => rows.length === 1,
    );
    await runJobDirectly(world.deps);
    expect((await account(target.id)).status).toBe('Not connected');
    expect(await changeRows(target.id)).toHaveLength(1);
  });

  // Needs history's write path (the sync leaves status/tags/deleted_at of a row whose
  // webhook_changed_at is after the page's fetch time). This branch's sync does not know
  // webhook_changed_at, so the test is skipped here and runs once that is merged.
  const syncHonoursWebhookChanges = readFileSync(path.resolve(import.meta.dirname, '../../lambdas/sync/upsert.ts'), 'utf8').includes(
    'webhook_changed_at',
  );
  it.skipIf(!syncHonoursWebhookChanges)(
    'a sync page fetched before a webhook change and written after it leaves the change in place',
    async () => {
      const target = connectedAccount(6);
      if (world.sim.webhookSubscriptions(WORKSPACE).length === 0) await cli(['webhooks', 'register', '--url', receiverBase], env);
      const gate = await startGatedProxy(world.sim.url);
      await db.sql`update workspaces set base_url = ${gate.url} where id = ${workspaceId}`;
      try {
        const sync = runJobDirectly(world.deps);
        await gate.firstPageHeld;
        // The page holding `target` as Connected is in flight; the disconnect arrives now.
        const { deliveries } = await world.sim.changeAccount(target.id, 'disconnect');
        expect(deliveries[0].status).toBe(200);
        await eventually(
          () => account(target.id),
          (found) => found.status === 'Not connected',
        );
        gate.release();
        await sync;
        expect((await account(target.id)).status).toBe('Not connected');
        expect(await changeRows(target.id)).toHaveLength(1);
      } finally {
        await db.sql`update workspaces set base_url = ${world.sim.url} where id = ${workspaceId}`;
        await gate.close();
      }
    },
  );
});

/** Forwards to the simulator; answers of /api/sender-emails wait (already read) until release(). */
async function startGatedProxy(target: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held!: () => void;
  const firstPageHeld = new Promise<void>((resolve) => {
    held = resolve;
  });
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk) => chunks.push(chunk));
      answer.on('end', async () => {
        if (req.url?.startsWith('/api/sender-emails')) {
          held();
          await released;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(Buffer.concat(chunks));
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    firstPageHeld,
    release,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
