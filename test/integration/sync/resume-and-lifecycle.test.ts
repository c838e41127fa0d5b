import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WalkCursor } from '../../../lambdas/emailbison/client';
import { finalizeJob, failRun } from '../../../lambdas/jobs/finalize-job';
import { startJob } from '../../../lambdas/jobs/start-job';
import { createSyncWorkspaceTask } from '../../../lambdas/sync-workspace/task';
import { createTestDatabase } from '../../helpers/database';
import { createWorld, runJobDirectly, storedAccounts, truthAsStored, type World } from '../../helpers/world';

const db = await createTestDatabase();
let world: World;
const WS = 'Tidewater Consulting';

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [WS, 'Acme Outbound', 'Kestrel Ventures'] });
});
afterAll(() => world.sim.close());

async function clearAccounts() {
  await db.sql`delete from sender_emails`;
}

describe('resumable runs', () => {
  it('gives the same table when cut by the deadline after 10 pages and resumed from its cursor', async () => {
    await runJobDirectly(world.deps, [WS]);
    const uninterrupted = await db.sql`select emailbison_id, raw, deleted_at is null as live from sender_emails order by emailbison_id`;
    await clearAccounts();

    // A clock that advances one second per look, and a budget that runs out after 10 pages.
    let fakeNow = 0;
    const deps = { ...world.deps, now: () => (fakeNow += 1000), config: { ...world.deps.config, syncBudgetSeconds: 15, batchSize: 100 } };
    const started = await startJob(db.sql, { jobName: deps.config.jobName, workspaceNames: [WS], runTimeoutMinutes: 60 });
    if (started.status !== 'started') throw new Error('not started');
    const sync = createSyncWorkspaceTask(deps);
    const cursors: (WalkCursor | null)[] = [];
    let result = await sync({ jobId: started.jobId, workspace: started.workspaces[0] });
    cursors.push(result.cursor);
    expect(result).toMatchObject({ done: false, cursor: { mode: 'page', page: 11 } });
    expect((await db.sql`select count(*)::int as n from sender_emails`)[0].n).toBe(150);
    const [saved] = await db.sql`select cursor from polling_job_workspaces where job_id = ${started.jobId}`;
    expect(saved.cursor).toBe(11);
    while (!result.done) {
      result = await sync({ jobId: started.jobId, workspace: started.workspaces[0], cursor: result.cursor });
      cursors.push(result.cursor);
    }
    expect(cursors).toEqual([{ mode: 'page', page: 11 }, { mode: 'page', page: 21 }, null]);
    const summary = await finalizeJob(db.sql, started.jobId);
    expect(summary).toMatchObject({ status: 'completed', totalAccountsSynced: 433, warnings: [] });
    const resumed = await db.sql`select emailbison_id, raw, deleted_at is null as live from sender_emails order by emailbison_id`;
    expect(resumed).toEqual(uninterrupted);
    const [row] = await db.sql`select invocations, pages, cursor from polling_job_workspaces where job_id = ${started.jobId}`;
    expect(row).toEqual({ invocations: 3, pages: 29, cursor: null });
  });

  it('resumes from the cursor saved before a crash, not from page 1', async () => {
    const started = await startJob(db.sql, { jobName: 'crash-resume', workspaceNames: [WS], runTimeoutMinutes: 60 });
    if (started.status !== 'started') throw new Error('not started');
    world.sim.setFaults(WS, { failFromPage: { page: 20, status: 500 } });
    const sync = createSyncWorkspaceTask({ ...world.deps, config: { ...world.deps.config, maxAttempts: 2, batchSize: 30 } });
    await expect(sync({ jobId: started.jobId, workspace: started.workspaces[0] })).rejects.toMatchObject({
      name: 'EmailBisonUnavailableError',
    });
    world.sim.clearFaults();
    const [saved] = await db.sql`select cursor, status, error from polling_job_workspaces where job_id = ${started.jobId}`;
    expect(saved.cursor).toBe(20);
    expect(saved.status).toBe('running');
    expect(saved.error).toMatch(/EmailBisonUnavailableError.*Tidewater Consulting/);
    world.sim.resetCounters();
    const result = await sync({ jobId: started.jobId, workspace: started.workspaces[0] });
    expect(result.done).toBe(true);
    expect(world.sim.counters(WS).requests).toBe(10); // pages 20..29
    expect((await storedAccounts(db.sql, WS)).filter((a) => !a.deleted)).toEqual(truthAsStored(world.sim, WS));
    expect((await finalizeJob(db.sql, started.jobId)).status).toBe('completed');
  });
});

describe('job lifecycle', () => {
  it('answers "already running" to a second start and creates no row', async () => {
    const first = await startJob(db.sql, { jobName: 'single-flight', runTimeoutMinutes: 60 });
    expect(first.status).toBe('started');
    const before = await db.sql`select count(*)::int as n from polling_job_status`;
    const second = await startJob(db.sql, { jobName: 'single-flight', runTimeoutMinutes: 60 });
    expect(second).toMatchObject({ status: 'already_running', runningJobId: first.status === 'started' ? first.jobId : '' });
    expect((second as { runningForSeconds: number }).runningForSeconds).toBeGreaterThanOrEqual(0);
    expect(await db.sql`select count(*)::int as n from polling_job_status`).toEqual(before);
  });

  it('fails a stale running row, saying so, and starts a new job', async () => {
    const [stale] =
      await db.sql`insert into polling_job_status (job_name, started_at) values ('stale-job', now() - interval '3 hours') returning id`;
    const result = await startJob(db.sql, { jobName: 'stale-job', runTimeoutMinutes: 120 });
    expect(result.status).toBe('started');
    const [old] = await db.sql`select status, error_message, completed_at from polling_job_status where id = ${stale.id}`;
    expect(old.status).toBe('failed');
    expect(old.error_message).toMatch(/still running after 180 min, longer than the run timeout of 120 min/);
    expect(old.completed_at).toBeInstanceOf(Date);
  });

  it('refuses an unknown workspace name before anything runs', async () => {
    const before = await db.sql`select count(*)::int as n from polling_job_status`;
    await expect(
      startJob(db.sql, { jobName: 'names', workspaceNames: [WS, 'Nope Industries'], runTimeoutMinutes: 60 }),
    ).rejects.toMatchObject({
      name: 'WorkspaceNotFoundError',
      message: expect.stringContaining('unknown workspace "Nope Industries"'),
    });
    expect(await db.sql`select count(*)::int as n from polling_job_status`).toEqual(before);
  });

  it('returns the job it already created when the same execution starts again', async () => {
    const arn = 'arn:aws:states:local:000000000000:execution:sender-sync:replay';
    const first = await startJob(db.sql, { jobName: 'replay', executionArn: arn, runTimeoutMinutes: 60 });
    const again = await startJob(db.sql, { jobName: 'replay', executionArn: arn, runTimeoutMinutes: 60 });
    expect(again).toEqual(first);
  });

  it('lists the largest workspaces first (by their last successful sync), never-synced ones before them', async () => {
    await db.sql`delete from polling_job_workspaces`;
    await db.sql`delete from polling_job_status`;
    const first = await startJob(db.sql, { jobName: 'order', runTimeoutMinutes: 60 });
    if (first.status !== 'started') throw new Error('not started');
    expect(first.workspaces.map((w) => w.name)).toEqual(['Acme Outbound', 'Kestrel Ventures', WS]); // nothing known: by name
    await finalizeJob(db.sql, first.jobId);
    const summary = await runJobDirectly(world.deps, [WS, 'Acme Outbound']);
    expect(summary.status).toBe('completed');
    const sizes = Object.fromEntries(world.names.map((name) => [name, world.sim.truth(name).length]));
    expect(sizes[WS]).toBeGreaterThan(sizes['Acme Outbound']);
    const next = await startJob(db.sql, { jobName: 'order-2', runTimeoutMinutes: 60 });
    if (next.status !== 'started') throw new Error('not started');
    // Kestrel has no synced row yet: first; then Tidewater (433) before Acme (187).
    expect(next.workspaces.map((w) => w.name)).toEqual(['Kestrel Ventures', WS, 'Acme Outbound']);
    // The same counts are what the run's progress bar expects (job-started carries them).
    expect(next.workspaces.map((w) => w.lastAccountsSynced)).toEqual([null, sizes[WS], sizes['Acme Outbound']]);
    await finalizeJob(db.sql, next.jobId);
  });

  it('finalizes idempotently: twice gives the same row', async () => {
    const summary = await runJobDirectly(world.deps, ['Kestrel Ventures']);
    const [once] = await db.sql`select * from polling_job_status where id = ${summary.jobId}`;
    await finalizeJob(db.sql, summary.jobId);
    const [twice] = await db.sql`select * from polling_job_status where id = ${summary.jobId}`;
    expect(twice).toEqual(once);
  });

  it('fails a job by execution ARN only while it is running', async () => {
    const arn = 'arn:aws:states:local:000000000000:execution:sender-sync:aborted';
    const started = await startJob(db.sql, {
      jobName: 'abort-me',
      executionArn: arn,
      workspaceNames: ['Kestrel Ventures'],
      runTimeoutMinutes: 60,
    });
    const failed = await failRun(db.sql, { executionArn: arn }, 'The execution ended ABORTED.');
    expect(failed).toMatchObject({ status: 'failed', errorMessage: 'The execution ended ABORTED.', workspacesSkipped: 1 });
    const [row] =
      await db.sql`select status from polling_job_workspaces where job_id = ${started.status === 'started' ? started.jobId : ''}`;
    expect(row.status).toBe('skipped');

    const done = await runJobDirectly(world.deps, ['Kestrel Ventures']);
    await db.sql`update polling_job_status set execution_arn = 'arn:done' where id = ${done.jobId}`;
    const untouched = await failRun(db.sql, { executionArn: 'arn:done' }, 'late event');
    expect(untouched).toMatchObject({ status: 'completed', errorMessage: null });
    expect(await failRun(db.sql, { executionArn: 'arn:unknown' }, 'x')).toBeUndefined();
  });
});
