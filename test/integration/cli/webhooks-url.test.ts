import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestWorthSending, formatDigest, readRunDigest } from '../../../lambdas/jobs/run-changes';
import { startLocalReceiver, type LocalReceiver } from '../../../lambdas/webhook-receiver/node-server';
import type { ChangesMessage } from '../../../lambdas/webhooks/publish';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { ensureLocalWebhookSecret, localWebhookSecretFile } from '../../../local/webhook-secret';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { createSettledReceiver } from '../../helpers/webhook-intake';
import { createWorld, runJobDirectly, type World } from '../../helpers/world';

/*
 * `webhooks url` and `webhooks register` through the built CLI bundle (a child process),
 * against the simulator and a receiver holding the same local master secret that
 * `webhooks serve` creates (its queue settled by the applier before each answer, so a
 * delivery's row is current when the simulator's change resolves): each workspace gets its own URL, EmailBison (the simulator) is
 * subscribed with it, and its deliveries (warmup_disabled_* included) land in that
 * workspace only, as change rows and in both digests.
 */
const db = await createTestDatabase();
let world: World;
let receiver: LocalReceiver;
let env: Record<string, string>;
const published: ChangesMessage[] = [];
const UNBOUND = 'Unbound Co';

type UrlRow = { name: string; url: string | null };

async function urlsOf(args: string[] = []) {
  const result = await cli(['webhooks', 'url', '--base', receiver.url, '--json', ...args], env);
  return { ...result, rows: result.code === 0 || result.code === 2 ? (JSON.parse(result.stdout) as UrlRow[]) : [] };
}

async function workspaceIdOf(name: string): Promise<number> {
  const [row] = await db.sql<{ id: number }[]>`select id from workspaces where name = ${name}`;
  return row.id;
}

beforeAll(async () => {
  world = await createWorld(db.sql, { scenario: 'grid:3:4' });
  await runJobDirectly(world.deps);
  // A workspace whose key's EmailBison workspace was never recorded: it can have no URL.
  await upsertWorkspace(db.sql, { name: UNBOUND, baseUrl: world.sim.url, apiKeyRef: 'env:UNBOUND_KEY', active: true });
  const { secret } = await ensureLocalWebhookSecret(localWebhookSecretFile(world.secretsFile));
  receiver = await startLocalReceiver(
    createSettledReceiver(db.sql, {
      webhookSecret: secret,
      publisher: { publish: async (message) => void published.push(message) },
      // No gather: a workspace's first digest goes out with the delivery that makes it due.
      timing: { gatherSeconds: 0 },
    }),
  );
  env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: world.secretsFile };
});

afterAll(async () => {
  await receiver?.close();
  await world?.sim.close();
});

describe('sender-sync webhooks url', () => {
  it("prints each workspace's own URL as [{name, url}], and says which has none (exit 2)", async () => {
    const { code, stderr, rows } = await urlsOf();
    expect(code).toBe(2);
    expect(stderr).toContain(`workspace "${UNBOUND}" records no EmailBison workspace id: run \`sender-sync check-keys\``);
    expect(rows.map((r) => r.name).sort()).toEqual([...world.names, UNBOUND].sort());
    expect(rows.find((r) => r.name === UNBOUND)!.url).toBeNull();
    for (const name of world.names) {
      const row = rows.find((r) => r.name === name)!;
      const emailbisonId = world.sim.workspaces().find((w) => w.name === name)!.id;
      expect(row.url).toBe(`${receiver.url}/emailbison/${await workspaceIdOf(name)}/${emailbisonId}/${row.url!.split('/').pop()}`);
      expect(row.url!.split('/').pop()).toMatch(/^[\w-]{43}$/);
    }
    const tokens = rows.filter((r) => r.url).map((r) => r.url!.split('/').pop());
    expect(new Set(tokens).size).toBe(world.names.length);
  });

  it('prints name<TAB>url lines for the workspaces asked for; usage errors exit 64', async () => {
    const [a, b] = world.names;
    const text = await cli(['webhooks', 'url', '--base', `${receiver.url}/`, '--workspaces', `${a},${b}`], env);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines.map((line) => line.split('\t')[0])).toEqual([a, b].sort());
    const { rows } = await urlsOf();
    for (const line of lines) {
      const [name, url] = line.split('\t');
      expect(url).toBe(rows.find((r) => r.name === name)!.url);
    }
    expect((await cli(['webhooks', 'url', '--base', receiver.url, '--workspaces', 'Nobody'], env)).code).toBe(64);
    const noBase = await cli(['webhooks', 'url'], env);
    expect(noBase.code).toBe(64);
    expect(noBase.stderr).toContain('--base');
  });

  it("opens its own workspace's path only", async () => {
    const { rows } = await urlsOf();
    const [a, b] = world.names;
    const account = world.sim.truth(a).find((x) => x.status === 'Connected')!;
    const emailbisonId = world.sim.workspaces().find((w) => w.name === a)!.id;
    const body = JSON.stringify({
      event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_id: emailbisonId },
      data: { sender_email: { id: account.id, email: account.email, status: 'Not connected', updated_at: new Date().toISOString() } },
    });
    const post = (url: string) => fetch(url, { method: 'POST', body }).then((r) => r.status);
    expect(await post(rows.find((r) => r.name === b)!.url!)).toBe(409);
    expect(await post(rows.find((r) => r.name === a)!.url!)).toBe(200);
  });
});

describe('sender-sync webhooks register', () => {
  it('subscribes each workspace with its own URL (the printed one) to the eight events, warmup ones included, never printing a token', async () => {
    const { rows } = await urlsOf();
    const result = await cli(['webhooks', 'register', '--url', receiver.url, '--workspaces', world.names.join(','), '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const registered = JSON.parse(result.stdout).registered as { workspace: string; outcome: string; url: string; events: number }[];
    expect(registered.map((r) => [r.workspace, r.outcome, r.events])).toEqual(world.names.map((name) => [name, 'created', 8]).sort());
    for (const name of world.names) {
      const subscriptions = world.sim.webhookSubscriptions(name);
      expect(subscriptions).toHaveLength(1);
      expect(subscriptions[0].url).toBe(rows.find((r) => r.name === name)!.url);
      expect(subscriptions[0].events).toEqual(
        expect.arrayContaining(['warmup_disabled_causing_bounces', 'warmup_disabled_receiving_bounces', 'email_account_disconnected']),
      );
      expect(result.stdout + result.stderr).not.toContain(subscriptions[0].url.split('/').pop());
    }
    // What EmailBison delivers to each subscription is applied to that workspace.
    for (const name of world.names) {
      const target = world.sim.truth(name).filter((x) => x.status === 'Connected')[1];
      const { deliveries } = await world.sim.changeAccount(target.id, 'disconnect');
      expect(deliveries.map((d) => d.status)).toEqual([200]);
      const [row] = await db.sql<{ status: string }[]>`
        select status from sender_emails where workspace_id = ${await workspaceIdOf(name)} and emailbison_id = ${target.id}
      `;
      expect(row.status).toBe('Not connected');
    }
  });
});

describe('warmup-disabled events', () => {
  it('record warmup_enabled -> false with the event type as the reason, and are listed in both digests as "warmup disabled (bounces)"', async () => {
    const [name] = world.names;
    const workspaceId = await workspaceIdOf(name);
    const [causing, receiving] = world.sim.truth(name).filter((x) => x.warmup_enabled === true);
    await db.sql`update webhook_publish_state set last_published_at = null`;
    published.length = 0;
    for (const [account, change] of [
      [causing, 'warmup-disabled-causing-bounces'],
      [receiving, 'warmup-disabled-receiving-bounces'],
    ] as const) {
      const { deliveries } = await world.sim.changeAccount(account.id, change);
      expect(deliveries.map((d) => d.status)).toEqual([200]);
      expect(JSON.parse(deliveries[0].body).event.type).toBe(change.replaceAll('-', '_').toUpperCase());
    }
    const changes = await db.sql<
      { emailbison_id: string; field: string; old_value: unknown; new_value: unknown; reason: string; source: string }[]
    >`
      select emailbison_id::text, field, old_value, new_value, reason, source from sender_email_changes
      where workspace_id = ${workspaceId} and field = 'warmup_enabled' order by id
    `;
    expect(changes).toEqual([
      {
        emailbison_id: String(causing.id),
        field: 'warmup_enabled',
        old_value: true,
        new_value: false,
        reason: 'warmup_disabled_causing_bounces',
        source: 'webhook',
      },
      {
        emailbison_id: String(receiving.id),
        field: 'warmup_enabled',
        old_value: true,
        new_value: false,
        reason: 'warmup_disabled_receiving_bounces',
        source: 'webhook',
      },
    ]);
    const [row] = await db.sql<{ warmup_enabled: boolean }[]>`
      select warmup_enabled from sender_emails where workspace_id = ${workspaceId} and emailbison_id = ${causing.id}
    `;
    expect(row.warmup_enabled).toBe(false);
    // The webhook digest: the first goes out at once, the second waits for the window.
    expect(published.map((m) => m.text).join('\n')).toContain(`${causing.email}: warmup disabled (bounces)`);
    expect(published[0].subject).toContain('1 warmup disabled (bounces)');

    // The run digest of the next sync names both; the sync itself records no second change.
    const job = await runJobDirectly(world.deps);
    const digest = await readRunDigest(db.sql, job.jobId);
    expect(digestWorthSending(digest)).toBe(true);
    const text = formatDigest(digest).message;
    expect(text).toContain(`  ${causing.email}: warmup disabled (bounces)`);
    expect(text).toContain(`  ${receiving.email}: warmup disabled (bounces)`);
    const [{ count }] = await db.sql<{ count: number }[]>`
      select count(*)::int as count from sender_email_changes where workspace_id = ${workspaceId} and field = 'warmup_enabled'
    `;
    expect(count).toBe(2);
  });
});
