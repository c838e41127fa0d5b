import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncWorkspaceEvent } from '../../../lambdas/sync-workspace/task';
import { createSyncWorkspaceTask } from '../../../lambdas/sync-workspace/task';
import { createTestDatabase } from '../../helpers/database';
import { historyText, runLocally } from '../../helpers/local-run';
import { createWorld, liveAccounts, truthAsStored, type World } from '../../helpers/world';

/*
 * The synthesized state machine executed locally (aws-local-stepfunctions) with the real
 * task code behind every Task state, a real Postgres and the simulated EmailBison.
 */
const db = await createTestDatabase();
let world: World;

beforeAll(async () => {
  world = await createWorld(db.sql);
});
afterAll(() => world.sim.close());

async function expectEveryWorkspaceEqualsTruth(names: string[]) {
  for (const name of names) expect(await liveAccounts(db.sql, name)).toEqual(truthAsStored(world.sim, name));
}

describe('the state machine, run locally with the real handlers', () => {
  it('syncs seed-2025 end to end, at most 3 workspaces at once', async () => {
    const result = await runLocally(world.deps, {});
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'completed', totalWorkspaces: 26, workspacesFailed: 0, totalAccountsSynced: 4228 });
    expect(result.observed.peak).toBe(3);
    await expectEveryWorkspaceEqualsTruth(world.names);
    const [job] = await db.sql`select status, execution_arn from polling_job_status order by started_at desc limit 1`;
    expect(job).toEqual({ status: 'completed', execution_arn: result.executionArn });
  });

  it('keeps every state input and output small: no account travels through the state machine', async () => {
    const result = await runLocally(world.deps, {});
    const largest = Math.max(...result.events.map((e) => JSON.stringify(e).length));
    expect(largest).toBeLessThan(16 * 1024);
  });

  it('ends partial, with a warning naming it, when one workspace key is rejected', async () => {
    world.sim.setFaults('Juniper Health', { rejectKey: true });
    const result = await runLocally(world.deps, {});
    world.sim.clearFaults();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'partial', workspacesFailed: 1 });
    const [job] = await db.sql`select status, warnings from polling_job_status where execution_arn = ${result.executionArn}`;
    expect(job.status).toBe('partial');
    expect(job.warnings).toEqual([
      expect.stringMatching(/^Juniper Health: failed: RejectedApiKeyError: EmailBison rejected the API key of workspace "Juniper Health"/),
    ]);
    expect(result.observed.calls.get('Juniper Health')).toBe(1);
  });

  it('retries a handler that crashes once mid-workspace and resumes from its saved cursor', async () => {
    const WS = 'Northbeam Recruiting';
    await db.sql`update sender_emails set deleted_at = now() where workspace_id = (select id from workspaces where name = ${WS})`;
    const sync = createSyncWorkspaceTask(world.deps);
    let fakeNow = 0;
    const stopsAfterFivePages = createSyncWorkspaceTask({
      ...world.deps,
      now: () => (fakeNow += 1000),
      config: { ...world.deps.config, syncBudgetSeconds: 10, batchSize: 15 },
    });
    let crashed = false;
    const [{ id: wsId }] = await db.sql<{ id: number }[]>`select id from workspaces where name = ${WS}`;
    const result = await runLocally(
      world.deps,
      { workspaces: [WS, 'Kestrel Ventures'] },
      {
        syncWorkspace: async (event: unknown) => {
          const e = event as SyncWorkspaceEvent;
          if (e.workspace.id === wsId && !crashed) {
            crashed = true;
            await stopsAfterFivePages(e); // progress saved in Postgres, then the Lambda dies
            throw new Error('Runtime exited with error: signal: killed');
          }
          return sync(e);
        },
      },
    );
    expect(crashed).toBe(true);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'completed' });
    expect(result.observed.calls.get(WS)).toBe(2);
    expect(historyText(result)).toContain('Runtime exited with error');
    const [row] =
      await db.sql`select invocations, pages, pjw.status from polling_job_workspaces pjw join polling_job_status j on j.id = pjw.job_id where j.execution_arn = ${result.executionArn} and workspace_name = ${WS}`;
    expect(row).toEqual({ invocations: 2, pages: 24, status: 'synced' });
    await expectEveryWorkspaceEqualsTruth([WS]);
  });

  it('loops on the cursor when the time budget is tiny, and the table equals the truth', async () => {
    const WS = 'Tidewater Consulting';
    let fakeNow = 0;
    const deps = { ...world.deps, now: () => (fakeNow += 10_000), config: { ...world.deps.config, syncBudgetSeconds: 1 } };
    const result = await runLocally(deps, { workspaces: [WS] });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'completed', totalAccountsSynced: 433 });
    expect(result.observed.calls.get(WS)).toBe(29);
    const [row] =
      await db.sql`select invocations from polling_job_workspaces pjw join polling_job_status j on j.id = pjw.job_id where j.execution_arn = ${result.executionArn}`;
    expect(row.invocations).toBe(29);
    await expectEveryWorkspaceEqualsTruth([WS]);
  });

  it('fails at once, with a readable error, on an input of the wrong shape', async () => {
    const result = await runLocally(world.deps, { workspaces: 'Acme Outbound' });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    expect(JSON.parse(result.cause!).errorMessage).toContain('"workspaces" must be a list of workspace names, got string "Acme Outbound"');
    expect(result.observed.calls.size).toBe(0);
  });

  it('fails at once naming an unknown workspace, creating no job', async () => {
    const before = await db.sql`select count(*)::int as n from polling_job_status`;
    const result = await runLocally(world.deps, { workspaces: ['Acme Outbound', 'Nope Industries'] });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('WorkspaceNotFoundError');
    expect(JSON.parse(result.cause!).errorMessage).toContain('unknown workspace "Nope Industries"');
    expect(await db.sql`select count(*)::int as n from polling_job_status`).toEqual(before);
  });

  it('puts no API key in any state input or output', async () => {
    const result = await runLocally(world.deps, {});
    const history = historyText(result);
    expect(history.length).toBeGreaterThan(10_000);
    for (const { apiKey } of world.sim.workspaces()) expect(history).not.toContain(apiKey);
  });
});
