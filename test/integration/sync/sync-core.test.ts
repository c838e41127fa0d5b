import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../helpers/database';
import { createWorld, liveAccounts, runJobDirectly, storedAccounts, truthAsStored, type World } from '../../helpers/world';

const db = await createTestDatabase();
let world: World;

beforeAll(async () => {
  world = await createWorld(db.sql);
});
afterAll(() => world.sim.close());

async function rowVersions(workspace?: string) {
  const rows = await db.sql<{ id: number; xmin: string }[]>`
    select se.id, se.xmin::text as xmin from sender_emails se join workspaces w on w.id = se.workspace_id
    where ${workspace ? db.sql`w.name = ${workspace}` : db.sql`true`} order by se.id`;
  return new Map(rows.map((r) => [r.id, r.xmin]));
}

describe('syncing seed-2025 workspace by workspace', () => {
  it('makes sender_emails equal the simulator for every workspace and records a completed job', async () => {
    const summary = await runJobDirectly(world.deps);
    let total = 0;
    for (const name of world.names) {
      expect(await storedAccounts(db.sql, name)).toEqual(truthAsStored(world.sim, name));
      total += world.sim.truth(name).length;
    }
    expect(world.names).toHaveLength(26);
    expect(total).toBeGreaterThan(4200);
    expect(summary).toMatchObject({
      status: 'completed',
      totalWorkspaces: 26,
      workspacesSynced: 26,
      workspacesFailed: 0,
      totalAccountsSynced: total,
      warnings: [],
    });
    const [job] = await db.sql`select * from polling_job_status where id = ${summary.jobId}`;
    expect(job).toMatchObject({ status: 'completed', total_workspaces: 26, workspaces_processed: 26, total_accounts_synced: total });
    expect(job.completed_at).toBeInstanceOf(Date);
    expect(job.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('rewrites zero rows on a second run with no upstream change', async () => {
    const before = await rowVersions();
    const summary = await runJobDirectly(world.deps);
    expect(summary.status).toBe('completed');
    expect(await rowVersions()).toEqual(before);
    const [{ written }] =
      await db.sql`select sum(accounts_written)::int as written from polling_job_workspaces where job_id = ${summary.jobId}`;
    expect(written).toBe(0);
  });

  it('applies exactly the upstream adds, removals and changes, marking the removed', async () => {
    const ws = 'Juniper Health';
    const before = await rowVersions(ws);
    const added = world.sim.addAccounts(ws, 5);
    const removed = world.sim.removeAccounts(ws, 3);
    const changed = world.sim.updateAccounts(ws, 7);
    const summary = await runJobDirectly(world.deps);
    expect(summary.status).toBe('completed');
    expect(await liveAccounts(db.sql, ws)).toEqual(truthAsStored(world.sim, ws));
    const stored = await storedAccounts(db.sql, ws);
    expect(
      stored
        .filter((a) => a.deleted)
        .map((a) => a.emailbison_id)
        .sort(),
    ).toEqual(removed.map((a) => a.id).sort());
    const [row] =
      await db.sql`select accounts_removed, accounts_written from polling_job_workspaces where job_id = ${summary.jobId} and workspace_name = ${ws}`;
    expect(row).toEqual({ accounts_removed: 3, accounts_written: 12 });
    const after = await rowVersions(ws);
    const rewritten = [...before].filter(([id, xmin]) => after.get(id) !== xmin).length;
    expect(rewritten).toBe(3 + 7);
    expect(after.size).toBe(before.size + 5);
    expect(summary.totalAccountsRemoved).toBe(3);
    for (const account of [...added, ...changed]) expect(stored.find((s) => s.emailbison_id === account.id)?.deleted).toBe(false);
  });

  it('clears deleted_at on an account that comes back upstream', async () => {
    const ws = 'Kestrel Ventures';
    const [account] = world.sim.truth(ws);
    // As if an earlier run had seen it gone: the row is marked removed, but upstream has it.
    await db.sql`update sender_emails set deleted_at = now() - interval '1 day'
                 where emailbison_id = ${account.id} and workspace_id = (select id from workspaces where name = ${ws})`;
    const summary = await runJobDirectly(world.deps, [ws]);
    expect(summary.status).toBe('completed');
    expect(await liveAccounts(db.sql, ws)).toEqual(truthAsStored(world.sim, ws));
    const [row] = await db.sql`select accounts_written from polling_job_workspaces where job_id = ${summary.jobId}`;
    expect(row.accounts_written).toBe(1);
  });

  it('never touches a dashboard-owned column', async () => {
    const ws = 'Acme Outbound';
    await db.sql`update sender_emails set notes = 'warm this one up', manual_price = 4.50
                 where workspace_id = (select id from workspaces where name = ${ws})`;
    world.sim.updateAccounts(ws, 187);
    world.sim.removeAccounts(ws, 2);
    await runJobDirectly(world.deps, [ws]);
    const rows =
      await db.sql`select notes, manual_price from sender_emails where workspace_id = (select id from workspaces where name = ${ws})`;
    expect(rows.length).toBe(187);
    expect(rows.every((r) => r.notes === 'warm this one up' && r.manual_price === '4.50')).toBe(true);
  });
});
