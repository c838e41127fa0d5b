import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeJob, failRun } from '../../lambdas/jobs/finalize-job';
import { startJob } from '../../lambdas/jobs/start-job';
import type { TaskDeps } from '../../lambdas/runtime/deps';
import type { RunEvent } from '../../lambdas/runtime/run-events';
import { createFinalizeJobTask } from '../../lambdas/finalize-job/task';
import { createSyncWorkspaceTask } from '../../lambdas/sync-workspace/task';
import { createTestDatabase } from '../helpers/database';
import { createWorld, truthAsStored, storedAccounts, type World } from '../helpers/world';

/*
 * What AWS does to a sync that a local run does not (issue 13, items 4, 5 and 8): a
 * Lambda's remaining time shorter than a Retry-After storm, an invocation Step Functions
 * left running after its execution was aborted, two invocations of one workspace at once
 * (a retried invoke while the first still runs), and a redriven execution of a failed
 * job. The tasks run as the Lambdas run them, against the simulator and a real Postgres;
 * the EmailBison waits are real time (no scaled-down sleep), as the deadline is.
 * The checks are local to this file: fault-injection.test.ts keeps its verify helpers
 * to itself.
 */
const db = await createTestDatabase();
const WS = 'Tidewater Consulting';
let world: World;
let deps: TaskDeps;
const summary = { scenarios: 0, writesAfterEnd: 0, stoppedBeforeTimeout: 0, waitedForLease: 0 };

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [WS], config: { UPSERT_BATCH_SIZE: '15', EMAILBISON_MAX_ATTEMPTS: '8' } });
  // Real waits: a Retry-After of 1 s is 1 s, so the deadline meets what AWS would meet.
  deps = { ...world.deps, emailbison: { baseBackoffMs: 20 } };
});

afterAll(async () => {
  await world.sim.close();
  console.log(
    `aws-runtime: ${summary.scenarios} scenarios run, writes after the job ended ${summary.writesAfterEnd}, ` +
      `invocations stopped before their timeout ${summary.stoppedBeforeTimeout}, invocations that waited for a lease ${summary.waitedForLease}`,
  );
});

async function newJob() {
  const started = await startJob(db.sql, { jobName: deps.config.jobName, workspaceNames: [WS], runTimeoutMinutes: 60 });
  if (started.status !== 'started') throw new Error(`job not started: ${started.status}`);
  return { jobId: started.jobId, workspace: { id: started.workspaces[0].id } };
}

async function workspaceRow(jobId: string) {
  const [row] = await db.sql`select * from polling_job_workspaces where job_id = ${jobId}`;
  return row;
}

async function accountsText() {
  return JSON.stringify(await storedAccounts(db.sql, WS));
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ends a job whatever state it is in, so the next scenario can start one. */
async function endJob(jobId: string) {
  await failRun(db.sql, { jobId }, 'test scenario over');
}

describe('AWS runtime faults', () => {
  it('a Retry-After storm longer than the Lambda has left: the invocation returns before its timeout, cursor saved', async () => {
    summary.scenarios += 1;
    const job = await newJob();
    // The Lambda has 68 s left: the task keeps 60 s back, so the deadline is 8 s away, and
    // the sync aborts what it waits on 5 s before that. Every page is answered 429 with
    // Retry-After 30 s: without the deadline one wait alone would outlast the 8 s.
    const remainingMs = 68_000;
    const startedAt = Date.now();
    const lambdaDeps: TaskDeps = { ...deps, remainingTimeMs: () => remainingMs - (Date.now() - startedAt) };
    world.sim.setFaults(WS, { rateLimitFraction: 1, retryAfterSeconds: 30 });
    try {
      const result = await createSyncWorkspaceTask(lambdaDeps)({ ...job });
      const elapsedMs = Date.now() - startedAt;
      expect(result).toMatchObject({ done: false, cursor: { mode: 'page', page: 1 } });
      expect(elapsedMs, 'returned before the Lambda timeout').toBeLessThan(remainingMs);
      summary.stoppedBeforeTimeout += 1;
      const row = await workspaceRow(job.jobId);
      expect(row).toMatchObject({ status: 'running', cursor: 1, walk_mode: 'page', lease_id: null });
      expect(row.rate_limit_wait_ms).toBeGreaterThan(0);
      expect(row.api_requests).toBeGreaterThan(0);
    } finally {
      world.sim.clearFaults();
      await endJob(job.jobId);
    }
  }, 60_000);

  it('an orphan invocation of an aborted job writes nothing after the abort, and says why', async () => {
    summary.scenarios += 1;
    world.sim.updateAccounts(WS, 60);
    const job = await newJob();
    // Caught mid-walk: page 4 answers after 3 s, once; pages 1-3 are written by then.
    world.sim.setFaults(WS, { hangPages: [4], hangTimes: 1, hangMs: 3_000 });
    const orphan = createSyncWorkspaceTask(deps)({ ...job }).then(
      (result) => ({ result }),
      (error: Error) => ({ error }),
    );
    try {
      await until(async () => (await workspaceRow(job.jobId)).pages >= 3, 'pages 1-3 written');
      expect((await workspaceRow(job.jobId)).status, 'caught mid-walk').toBe('running');
      // What the status-change rule's mark-failed does when the execution is aborted.
      await failRun(db.sql, { jobId: job.jobId }, 'The execution ended ABORTED.');
      const rowAtAbort = await workspaceRow(job.jobId);
      const accountsAtAbort = await accountsText();
      const outcome = await orphan;
      expect('error' in outcome ? outcome.error : outcome).toMatchObject({ name: 'JobNoLongerRunningError', code: 'SS_JOB_NOT_RUNNING' });
      const changed = (await accountsText()) !== accountsAtAbort;
      const rowAfter = await workspaceRow(job.jobId);
      if (changed) summary.writesAfterEnd += 1;
      expect(changed, 'sender_emails changed after the abort').toBe(false);
      expect({ ...rowAfter, lease_id: null, lease_expires_at: null, updated_at: null }).toEqual({
        ...rowAtAbort,
        lease_id: null,
        lease_expires_at: null,
        updated_at: null,
      });
      expect(rowAfter.status).toBe('skipped');
    } finally {
      world.sim.clearFaults();
      await orphan;
    }
  }, 60_000);

  it('two invocations of one workspace at once: one writes, the other waits for it, then finds it done', async () => {
    summary.scenarios += 1;
    world.sim.updateAccounts(WS, 30);
    const job = await newJob();
    world.sim.setFaults(WS, { rateLimitFraction: 0.3, retryAfterSeconds: 1 });
    const events: RunEvent[] = [];
    const second = { ...deps, onEvent: (event: RunEvent) => events.push(event) };
    try {
      const first = createSyncWorkspaceTask(deps)({ ...job });
      await until(async () => (await workspaceRow(job.jobId)).lease_id !== null, 'the first invocation to take the lease');
      const retried = createSyncWorkspaceTask(second)({ ...job });
      const firstResult = await first;
      const rowAfterFirst = await workspaceRow(job.jobId);
      const retriedResult = await retried;
      expect(firstResult).toMatchObject({ done: true });
      expect(retriedResult).toMatchObject({ done: true, accountsSynced: firstResult.accountsSynced });
      expect(events.some((e) => e.type === 'workspace-waiting')).toBe(true);
      summary.waitedForLease += 1;
      const rowAfter = await workspaceRow(job.jobId);
      // The second wrote nothing: the counters are the first's, the invocations both.
      expect(rowAfter).toMatchObject({
        status: 'synced',
        accounts_written: rowAfterFirst.accounts_written,
        pages: rowAfterFirst.pages,
        api_requests: rowAfterFirst.api_requests,
        invocations: 2,
        lease_id: null,
      });
      const summaryRow = await finalizeJob(db.sql, job.jobId);
      expect(summaryRow.status).toBe('completed');
      expect((await storedAccounts(db.sql, WS)).filter((a) => !a.deleted)).toEqual(truthAsStored(world.sim, WS));
    } finally {
      world.sim.clearFaults();
      await endJob(job.jobId);
    }
  }, 60_000);

  it('a redriven execution of a failed job: Sync workspace and Finalize job write nothing and say the job already ended', async () => {
    summary.scenarios += 1;
    world.sim.updateAccounts(WS, 10);
    const job = await newJob();
    await failRun(db.sql, { jobId: job.jobId }, 'The execution ended FAILED.');
    const [jobBefore] = await db.sql`select * from polling_job_status where id = ${job.jobId}`;
    const rowBefore = await workspaceRow(job.jobId);
    const accountsBefore = await accountsText();
    const events: RunEvent[] = [];
    const redriven = { ...deps, onEvent: (event: RunEvent) => events.push(event) };
    // AWS redrives the Map iterations that failed, then Finalize job: the local runner has no
    // redrive, so the tasks are called as those states would call them.
    const synced = await createSyncWorkspaceTask(redriven)({ ...job });
    expect(synced).toMatchObject({
      done: true,
      accountsSynced: 0,
      jobEnded: { status: 'failed', note: expect.stringMatching(/start a new execution/) },
    });
    const finalized = await createFinalizeJobTask(redriven)({ jobId: job.jobId });
    expect(finalized).toMatchObject({ status: 'failed', alreadyEnded: true, note: expect.stringMatching(/Redrive is not supported/) });
    expect(events.filter((e) => e.type === 'job-already-ended')).toHaveLength(2);
    const [jobAfter] = await db.sql`select * from polling_job_status where id = ${job.jobId}`;
    expect(jobAfter).toEqual(jobBefore);
    expect(await workspaceRow(job.jobId)).toEqual(rowBefore);
    const changed = (await accountsText()) !== accountsBefore;
    if (changed) summary.writesAfterEnd += 1;
    expect(changed).toBe(false);
  }, 60_000);
});
