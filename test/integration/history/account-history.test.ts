import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangesPublisher, TaskDeps } from '../../../lambdas/runtime/deps';
import { createTestDatabase } from '../../helpers/database';
import { runLocally } from '../../helpers/local-run';
import { createWorld, type World } from '../../helpers/world';

/*
 * Issue 15, what it must show: the sync keeps each account's history. Three runs of the
 * real state machine (local runner, real task code, the simulated EmailBison); between the
 * first two, upstream 3 accounts disconnect, 1 is removed, 2 are added and one daily limit
 * changes; between the last two nothing does.
 */
const db = await createTestDatabase();
const CHANGED = 'Kestrel Ventures';
const QUIET = 'Ironclad Security';
let world: World;
const digests: { subject: string; message: string }[] = [];
const publisher: ChangesPublisher = {
  async publish(digest) {
    digests.push(digest);
  },
};
let deps: TaskDeps;

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [CHANGED, QUIET] });
  deps = { ...world.deps, changes: publisher };
});
afterAll(() => world.sim.close());

interface ChangeRow {
  workspace: string;
  emailbison_id: number;
  email: string | null;
  field: string;
  old_value: unknown;
  new_value: unknown;
  source: string;
  job_id: string | null;
}

const changeRows = () => db.sql<ChangeRow[]>`
  select w.name as workspace, c.emailbison_id, c.email, c.field, c.old_value, c.new_value, c.source, c.job_id
  from sender_email_changes c join workspaces w on w.id = c.workspace_id
  order by c.field, c.emailbison_id
`;

async function sync() {
  const result = await runLocally(deps, {});
  expect(result.status).toBe('SUCCEEDED');
  const [job] = await db.sql<
    {
      id: string;
      status: string;
      accounts_disconnected: number;
      accounts_reconnected: number;
      accounts_added: number;
      accounts_removed: number;
    }[]
  >`select id, status, accounts_disconnected, accounts_reconnected, accounts_added, accounts_removed
    from polling_job_status order by started_at desc limit 1`;
  expect(job.status).toBe('completed');
  const workspaces = await db.sql<
    {
      workspace_name: string;
      accounts_disconnected: number;
      accounts_reconnected: number;
      accounts_added: number;
      accounts_removed_since_last_run: number;
    }[]
  >`select workspace_name, accounts_disconnected, accounts_reconnected, accounts_added, accounts_removed_since_last_run
    from polling_job_workspaces where job_id = ${job.id} order by workspace_name`;
  return { job, workspaces };
}

const dailyRows = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from sender_email_daily`)[0].n;

describe('account history through the state machine', () => {
  it('records exactly what changed upstream, counts it on the job rows, and sends one digest naming it; nothing when nothing changed', async () => {
    // Run 1: the baseline. A workspace's first sync records its accounts, not N additions.
    const first = await sync();
    expect(await changeRows()).toEqual([]);
    expect(first.job).toMatchObject({ accounts_disconnected: 0, accounts_added: 0, accounts_removed: 0 });
    expect(digests).toEqual([]);
    // Counters are only written once they move: the first sync writes no daily row.
    expect(await dailyRows()).toBe(0);

    // Upstream: one removed, three disconnected, one daily limit changed, two added.
    const [removed] = world.sim.removeAccounts(CHANGED, 1);
    const connected = world.sim.truth(CHANGED).filter((a) => a.status === 'Connected');
    const disconnected = connected.slice(0, 3);
    for (const account of disconnected) world.sim.patchAccount(CHANGED, account.id, { status: 'Not connected' });
    const limited = connected[3];
    world.sim.patchAccount(CHANGED, limited.id, { daily_limit: (limited.daily_limit ?? 0) + 7 });
    const added = world.sim.addAccounts(CHANGED, 2);
    // And one account sent mail: a daily row, no change row.
    const active = connected[4];
    world.sim.patchAccount(CHANGED, active.id, { emails_sent_count: (active.emails_sent_count ?? 0) + 10 });

    // Run 2: exactly those change rows, written by the sync with its job.
    const second = await sync();
    const rows = await changeRows();
    const expected = [
      ...added.map((a) => ({ field: 'added', emailbison_id: a.id, email: a.email, old_value: null, new_value: a.status })),
      {
        field: 'daily_limit',
        emailbison_id: limited.id,
        email: limited.email,
        old_value: limited.daily_limit,
        new_value: (limited.daily_limit ?? 0) + 7,
      },
      { field: 'removed', emailbison_id: removed.id, email: removed.email, old_value: false, new_value: true },
      ...disconnected.map((a) => ({
        field: 'status',
        emailbison_id: a.id,
        email: a.email,
        old_value: 'Connected',
        new_value: 'Not connected',
      })),
    ].sort((a, b) => a.field.localeCompare(b.field) || a.emailbison_id - b.emailbison_id);
    expect(rows).toEqual(expected.map((row) => ({ ...row, workspace: CHANGED, source: 'sync', job_id: second.job.id })));
    // Counters moved on one account, first written today: today's row only (no earlier day to base it on).
    expect(await db.sql`select emailbison_id, emails_sent_count from sender_email_daily`).toEqual([
      { emailbison_id: active.id, emails_sent_count: (active.emails_sent_count ?? 0) + 10 },
    ]);

    expect(second.job).toMatchObject({ accounts_disconnected: 3, accounts_reconnected: 0, accounts_added: 2, accounts_removed: 1 });
    expect(second.workspaces).toEqual([
      { workspace_name: QUIET, accounts_disconnected: 0, accounts_reconnected: 0, accounts_added: 0, accounts_removed_since_last_run: 0 },
      { workspace_name: CHANGED, accounts_disconnected: 3, accounts_reconnected: 0, accounts_added: 2, accounts_removed_since_last_run: 1 },
    ]);

    expect(digests).toHaveLength(1);
    const [digest] = digests;
    expect(digest.subject).toBe('sender-sync: 3 disconnected, 1 removed, 0 reconnected, 2 added');
    expect(digest.message).toContain(`${CHANGED}: 3 disconnected, 0 reconnected, 2 added, 1 removed`);
    for (const account of disconnected) expect(digest.message).toContain(`  ${account.email}: Connected → Not connected`);
    expect(digest.message).toContain(`  ${removed.email}: removed`);
    expect(digest.message).not.toContain(QUIET);
    expect(digest.message).not.toContain(limited.email);
    for (const { apiKey } of world.sim.workspaces()) expect(`${digest.subject}\n${digest.message}`).not.toContain(apiKey);

    // Run 3: nothing changed upstream: no change row, no daily row, no digest, zero counts.
    const third = await sync();
    expect(await changeRows()).toHaveLength(rows.length);
    expect(await dailyRows()).toBe(1);
    expect(digests).toHaveLength(1);
    expect(third.job).toMatchObject({ accounts_disconnected: 0, accounts_reconnected: 0, accounts_added: 0, accounts_removed: 0 });
  });
});
