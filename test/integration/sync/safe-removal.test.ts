import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeJob } from '../../../lambdas/jobs/finalize-job';
import { startJob } from '../../../lambdas/jobs/start-job';
import { createSyncWorkspaceTask } from '../../../lambdas/sync-workspace/task';
import { createTestDatabase } from '../../helpers/database';
import { createWorld, runJobDirectly, storedAccounts, truthAsStored, type World } from '../../helpers/world';

const db = await createTestDatabase();
let world: World;
const WS = 'Tidewater Consulting'; // 433 accounts: 29 pages

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [WS, 'Acme Outbound'] });
  await runJobDirectly(world.deps);
});
afterAll(() => world.sim.close());

async function snapshot() {
  return db.sql`select se.*, se.xmin::text as version from sender_emails se order by id`;
}

describe('removal only after a complete and consistent fetch', () => {
  it('marks nothing removed and leaves every account as it was when the fetch fails on page 12 of 29', async () => {
    expect(Math.ceil(world.sim.truth(WS).length / 15)).toBe(29);
    const before = await snapshot();
    world.sim.removeAccounts(WS, 4);
    world.sim.setFaults(WS, { failFromPage: { page: 12, status: 500 } });
    const summary = await runJobDirectly(world.deps);
    world.sim.clearFaults();
    expect(summary.status).toBe('partial');
    expect(summary.warnings).toEqual([expect.stringMatching(/^Tidewater Consulting: failed: EmailBisonUnavailableError: .*page 12/)]);
    const after = await snapshot();
    expect(after.filter((r) => r.deleted_at !== null)).toEqual([]);
    expect(after.length).toBe(before.length);
    const [row] =
      await db.sql`select status, error, accounts_removed from polling_job_workspaces where job_id = ${summary.jobId} and workspace_name = ${WS}`;
    expect(row.status).toBe('failed');
    expect(row.accounts_removed).toBe(0);
  });

  it('marks nothing removed when accounts drift while the workspace is paged, and says why', async () => {
    world.sim.setFaults(WS, { drift: { afterRequests: 5, add: 2, remove: 3 } });
    const summary = await runJobDirectly(world.deps, [WS]);
    world.sim.clearFaults();
    expect(summary.status).toBe('completed');
    expect(summary.warnings).toEqual([expect.stringMatching(/^Tidewater Consulting: nothing marked removed: /)]);
    const deleted = (await storedAccounts(db.sql, WS)).filter((a) => a.deleted);
    expect(deleted).toEqual([]);
  });

  it('marks nothing removed when a workspace that had accounts suddenly reports none', async () => {
    world.sim.setFaults(WS, { emptyResponse: true });
    const summary = await runJobDirectly(world.deps, [WS]);
    world.sim.clearFaults();
    expect(summary.warnings).toEqual([expect.stringContaining('EmailBison reported 0 accounts for a workspace with')]);
    expect((await storedAccounts(db.sql, WS)).filter((a) => a.deleted)).toEqual([]);
  });

  it('removes what is gone once a clean fetch follows', async () => {
    const summary = await runJobDirectly(world.deps, [WS]);
    expect(summary).toMatchObject({ status: 'completed', warnings: [] });
    const live = (await storedAccounts(db.sql, WS)).filter((a) => !a.deleted);
    expect(live).toEqual(truthAsStored(world.sim, WS));
  });

  it('skips an invalid item with a warning, keeps its page-mates and does not remove it', async () => {
    const [first] = world.sim.truth(WS);
    world.sim.setFaults(WS, { invalidItemIds: [first.id] });
    const summary = await runJobDirectly(world.deps, [WS]);
    world.sim.clearFaults();
    expect(summary.status).toBe('completed');
    expect(summary.warnings).toEqual([expect.stringContaining(`Tidewater Consulting: skipped an invalid item on page 1`)]);
    expect(summary.warnings[0]).toContain(String(first.id));
    const live = (await storedAccounts(db.sql, WS)).filter((a) => !a.deleted);
    expect(live).toEqual(truthAsStored(world.sim, WS));
  });

  describe('the seen set: written accounts are seen through last_seen_job_id, the rest through polling_job_seen_accounts', () => {
    /** Runs one job over WS, stopping after 10 pages to run `between`, then finishing it. */
    async function jobInTwoHalves(between: (jobId: string) => Promise<void>) {
      let fakeNow = 0;
      const deps = { ...world.deps, now: () => (fakeNow += 1000), config: { ...world.deps.config, syncBudgetSeconds: 15, batchSize: 15 } };
      const started = await startJob(db.sql, { jobName: deps.config.jobName, workspaceNames: [WS], runTimeoutMinutes: 60 });
      if (started.status !== 'started') throw new Error('not started');
      const sync = createSyncWorkspaceTask(deps);
      let result = await sync({ jobId: started.jobId, workspace: { id: started.workspaces[0].id } });
      expect(result.done).toBe(false);
      await between(started.jobId);
      while (!result.done) result = await sync({ jobId: started.jobId, workspace: result.workspace, cursor: result.cursor });
      return finalizeJob(db.sql, started.jobId);
    }

    it('records only the accounts a job did not write, and counts both', async () => {
      const changed = world.sim.updateAccounts(WS, 40).length;
      let seenMidway = -1;
      const summary = await jobInTwoHalves(async (jobId) => {
        [{ n: seenMidway }] = await db.sql<
          { n: number }[]
        >`select count(*)::int as n from polling_job_seen_accounts where job_id = ${jobId}`;
        const [{ written }] = await db.sql<
          { written: number }[]
        >`select count(*)::int as written from sender_emails where last_seen_job_id = ${jobId}::uuid`;
        expect(seenMidway + written).toBe(150); // 10 pages of 15, each in one place
        expect(written).toBeGreaterThan(0);
      });
      expect(changed).toBe(40);
      expect(seenMidway).toBeGreaterThan(0);
      expect(summary).toMatchObject({ status: 'completed', totalAccountsSynced: world.sim.truth(WS).length, warnings: [] });
      expect((await storedAccounts(db.sql, WS)).filter((a) => !a.deleted)).toEqual(truthAsStored(world.sim, WS));
    });

    it('removes nothing when the unlogged seen set is lost mid-run (as a Postgres crash would), and the next run settles it', async () => {
      const deletedBefore = (await storedAccounts(db.sql, WS)).filter((a) => a.deleted);
      world.sim.removeAccounts(WS, 3);
      const summary = await jobInTwoHalves(async () => {
        await db.sql`truncate polling_job_seen_accounts`;
      });
      expect(summary.status).toBe('completed');
      expect(summary.warnings).toEqual([
        expect.stringMatching(/^Tidewater Consulting: nothing marked removed: saw \d+ distinct accounts but EmailBison reported \d+/),
      ]);
      expect((await storedAccounts(db.sql, WS)).filter((a) => a.deleted)).toEqual(deletedBefore);

      const next = await runJobDirectly(world.deps, [WS]);
      expect(next).toMatchObject({ status: 'completed', warnings: [] });
      expect((await storedAccounts(db.sql, WS)).filter((a) => !a.deleted)).toEqual(truthAsStored(world.sim, WS));
    });
  });
});
