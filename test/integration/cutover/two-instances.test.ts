import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceHost } from '../../../lambdas/emailbison/host-budget';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { deliveredBody } from '../../../sim/webhooks';
import { ensureLocalWebhookSecret, localWebhookSecretFile } from '../../../local/webhook-secret';
import { cli, type CliResult } from '../../helpers/cli';
import { tempDir } from '../../helpers/cleanup';
import { createTestDatabase } from '../../helpers/database';
import {
  createClientRegistry,
  fillClientRegistry,
  instanceArgs,
  type LabelledInstance,
  sharedIds,
  startTwoInstances,
} from '../../helpers/two-instances';
import { createSettledReceiver } from '../../helpers/webhook-intake';

/*
 * Two EmailBison instances whose workspace ids and sender-email ids are the same numbers, as
 * the replaced system's 'Maverick' and 'Long Run' are: imported from its client_registry by
 * label, synced, their history and webhooks, each kept to its own workspace rows.
 */
const db = await createTestDatabase();
const dir = tempDir('ss-two-instances-');
const secretsFile = path.join(dir, 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
let instances: LabelledInstance[];
let maverick: LabelledInstance;
let longRun: LabelledInstance;
const outputs: string[] = [];

async function run(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const result = await cli(args, { ...env, ...extra });
  outputs.push(result.stdout, result.stderr);
  return result;
}

/** The registered workspace of an instance's EmailBison workspace. */
async function workspaceRow(instance: LabelledInstance, emailbisonId: number) {
  const [row] = await db.sql<{ id: number; name: string }[]>`
    select id, name from workspaces where base_url = ${instance.sim.url} and emailbison_workspace_id = ${emailbisonId}
  `;
  return row;
}

async function accountRow(instance: LabelledInstance, emailbisonWorkspaceId: number, accountId: number) {
  const [row] = await db.sql<{ email: string; status: string }[]>`
    select se.email, se.status from sender_emails se join workspaces w on w.id = se.workspace_id
    where w.base_url = ${instance.sim.url} and w.emailbison_workspace_id = ${emailbisonWorkspaceId} and se.emailbison_id = ${accountId}
  `;
  return row;
}

beforeAll(async () => {
  instances = await startTwoInstances();
  [maverick, longRun] = instances;
  await createClientRegistry(db.sql);
  await fillClientRegistry(db.sql, instances);
});
afterAll(async () => {
  await Promise.all(instances.map(({ sim }) => sim.close()));
});

describe('two instances with the same workspace and account ids', () => {
  it('overlap: both hold workspaces 1 and 2 and sender emails of the same ids', () => {
    expect(maverick.sim.workspaces().map((w) => w.id)).toEqual(longRun.sim.workspaces().map((w) => w.id));
    expect(sharedIds(instances).length).toBeGreaterThanOrEqual(40);
  });

  it('import refuses a label with no --instance: exit 2, nothing registered or stored, the label and its rows named', async () => {
    const result = await run(['workspaces', 'import', '--from-client-registry', '--instance', `Maverick=${maverick.sim.url}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `bison_instance "Long Run" (rows "${longRun.names[0]}", "${longRun.names[1]}") has no URL: map it with --instance 'Long Run=https://…'`,
    );
    expect(await db.sql`select name from workspaces`).toEqual([]);
    expect(existsSync(secretsFile)).toBe(false);
  });

  it('import maps each label to its URL: four workspaces, the same EmailBison ids on two instances, each with its label', async () => {
    const result = await run(['workspaces', 'import', '--from-client-registry', ...instanceArgs(instances), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const imported = JSON.parse(result.stdout).imported as { name: string; base_url: string; instance_label: string }[];
    expect(imported.map((r) => [r.name, r.instance_label, r.base_url]).sort()).toEqual(
      instances.flatMap(({ label, sim, names }) => names.map((name) => [name, label, sim.url])).sort(),
    );
    const rows = await db.sql<{ emailbison_workspace_id: number; base_url: string; instance_label: string }[]>`
      select emailbison_workspace_id, base_url, instance_label from workspaces order by base_url, emailbison_workspace_id
    `;
    expect(rows.map((r) => [r.instance_label, r.emailbison_workspace_id]).sort()).toEqual([
      ['Long Run', 1],
      ['Long Run', 2],
      ['Maverick', 1],
      ['Maverick', 2],
    ]);
    const list = await run(['workspaces', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { instance_label: string }[]).map((w) => w.instance_label).sort()).toEqual([
      'Long Run',
      'Long Run',
      'Maverick',
      'Maverick',
    ]);
    expect((await run(['workspaces', 'list'])).stdout).toMatch(/instance.*\n(?:.*\n)*.*Long Run/); // Two keys reading EmailBison workspace 1, on two instances: no conflict.
    const keys = await run(['check-keys', '--json']);
    expect(keys.code, keys.stdout + keys.stderr).toBe(0);
    expect((JSON.parse(keys.stdout).keys as { result: string }[]).map((k) => k.result)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('a run syncs both: each workspace holds its own instance accounts, none overwritten; the request budget is per instance', async () => {
    // A limit of 4 requests a second on Maverick only: its 429s pause its host, never Long Run's.
    maverick.sim.setRateLimit({ requests: 4, windowSeconds: 1 });
    const result = await run(['run', '--json'], { EMAILBISON_MAX_RPS: '50' });
    maverick.sim.setRateLimit(undefined);
    expect(result.code, result.stderr).toBe(0);
    for (const instance of instances) {
      for (const workspace of instance.sim.workspaces()) {
        const { id } = await workspaceRow(instance, workspace.id);
        const synced = await db.sql<{ emailbison_id: number; email: string }[]>`
          select emailbison_id::int, email from sender_emails where workspace_id = ${id} and deleted_at is null order by emailbison_id
        `;
        expect(synced).toEqual(instance.sim.truth(workspace.name).map((a) => ({ emailbison_id: a.id, email: a.email })));
      }
    }
    const budgets = await db.sql<{ host: string; paused: boolean }[]>`
      select host, pause_reason is not null as paused from emailbison_host_budget order by host
    `;
    expect(Object.fromEntries(budgets.map((b) => [b.host, b.paused]))).toEqual({
      [instanceHost(maverick.sim.url)]: true,
      [instanceHost(longRun.sim.url)]: false,
    });
  });

  it('history: the same account id changed on both instances is recorded twice, each under its own workspace', async () => {
    const accountId = maverick.sim.truth(maverick.names[0])[3].id;
    expect(longRun.sim.truth(longRun.names[0]).map((a) => a.id)).toContain(accountId);
    const updatedAt = '2026-12-01T10:00:00.000000Z';
    maverick.sim.patchAccount(maverick.names[0], accountId, { status: 'Not connected', updated_at: updatedAt });
    longRun.sim.patchAccount(longRun.names[0], accountId, { status: 'Paused', updated_at: updatedAt });
    const result = await run(['run'], { EMAILBISON_MAX_RPS: '0' });
    expect(result.code, result.stderr).toBe(0);
    const changes = await db.sql<{ instance_label: string; name: string; new_value: string }[]>`
      select w.instance_label, w.name, c.new_value from sender_email_changes c join workspaces w on w.id = c.workspace_id
      where c.emailbison_id = ${accountId} and c.field = 'status' order by w.instance_label
    `;
    expect(changes).toEqual([
      { instance_label: 'Long Run', name: longRun.names[0], new_value: 'Paused' },
      { instance_label: 'Maverick', name: maverick.names[0], new_value: 'Not connected' },
    ]);
    expect((await accountRow(maverick, 1, accountId)).status).toBe('Not connected');
    expect((await accountRow(longRun, 1, accountId)).status).toBe('Paused');
  });

  it("webhooks: a delivery to one workspace's URL changes only that instance's account of the shared id", async () => {
    const { secret } = await ensureLocalWebhookSecret(localWebhookSecretFile(secretsFile));
    const printed = await run(['webhooks', 'url', '--base', 'https://receiver.example', '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    const urls = new Map((JSON.parse(printed.stdout) as { name: string; url: string }[]).map((u) => [u.name, new URL(u.url).pathname]));
    expect(new Set(urls.values()).size).toBe(4);
    const accountId = longRun.sim.truth(longRun.names[1]).find((a) => a.status === 'Connected')!.id;
    expect((await accountRow(maverick, 2, accountId)).status).toBe(
      maverick.sim.truth(maverick.names[1]).find((a) => a.id === accountId)!.status,
    );
    const before = await accountRow(maverick, 2, accountId);

    const { account } = await longRun.sim.changeAccount(accountId, 'disconnect');
    const receive = createSettledReceiver(db.sql, { webhookSecret: secret });
    const body = deliveredBody(
      'email_account_disconnected',
      { id: 2, name: longRun.names[1], apiKey: '', accounts: [] },
      account,
      longRun.sim.url,
    );
    const answer = await receive({ method: 'POST', path: urls.get(longRun.names[1])!, body: JSON.stringify(body) });
    expect(answer.status).toBe(200);
    expect(answer.applied).toBe('applied');
    expect((await accountRow(longRun, 2, accountId)).status).toBe('Not connected');
    expect(await accountRow(maverick, 2, accountId)).toEqual(before);
    const webhookChanges = await db.sql<{ instance_label: string }[]>`
      select w.instance_label from sender_email_changes c join workspaces w on w.id = c.workspace_id
      where c.source = 'webhook' and c.emailbison_id = ${accountId}
    `;
    expect(webhookChanges).toEqual([{ instance_label: 'Long Run' }]);
  });

  it("keeps a workspace's label while it stays on its instance, and drops it when the workspace moves to another URL", async () => {
    const probe = { name: 'Label Probe', apiKeyRef: 'env:LABEL_PROBE_KEY', active: false };
    await upsertWorkspace(db.sql, { ...probe, baseUrl: maverick.sim.url, instanceLabel: 'Maverick' });
    expect((await upsertWorkspace(db.sql, { ...probe, baseUrl: maverick.sim.url })).instanceLabel).toBe('Maverick');
    expect((await upsertWorkspace(db.sql, { ...probe, baseUrl: longRun.sim.url })).instanceLabel).toBeNull();
    await db.sql`delete from workspaces where name = ${probe.name}`;
  });

  it('never printed a key', () => {
    const keys = instances.flatMap(({ sim }) => sim.workspaces().map((w) => w.apiKey));
    for (const output of outputs) for (const key of keys) expect(output).not.toContain(key);
  });
});
