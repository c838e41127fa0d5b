import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSql } from '../../../lambdas/db/client';
import { startJob } from '../../../lambdas/jobs/start-job';
import { thisProcess } from '../../../local/process-identity';
import { DEAD_RUN_REASON, describeTakeover, type LocalRunLock, takeLocalRunLock } from '../../../local/run-lock';
import { localExecutionArn } from '../../../state-machine/asl';
import { createTestDatabase } from '../../helpers/database';

const db = await createTestDatabase();
const jobName = 'sender-emails-sync';
const lockOptions = () => ({ jobName, runTimeoutMinutes: 60, executionArn: localExecutionArn(randomUUID()) });

async function release(lock: LocalRunLock) {
  if (lock.kind === 'taken') await lock.release();
}

/** A job as Start job creates it for a local execution. */
async function runningJob(executionArn: string, startedMinutesAgo = 1): Promise<string> {
  const [job] = await db.sql<{ id: string }[]>`
    insert into polling_job_status (job_name, execution_arn, started_at)
    values (${jobName}, ${executionArn}, now() - make_interval(mins => ${startedMinutesAgo}))
    returning id`;
  return job.id;
}

describe('the local run lease', () => {
  it('is taken once: a second taker is refused until the first releases it, and no lock of any session stays', async () => {
    const first = await takeLocalRunLock(db.sql, lockOptions());
    expect(first).toMatchObject({ kind: 'taken', tookOver: undefined });
    expect(await takeLocalRunLock(db.sql, lockOptions())).toEqual({ kind: 'held', runningJobId: undefined, runningForSeconds: undefined });
    await release(first);
    expect(await db.sql`select * from local_run_lease`).toEqual([]);
    const again = await takeLocalRunLock(db.sql, lockOptions());
    expect(again.kind).toBe('taken');
    await release(again);
    expect(
      await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`,
    ).toEqual([{ n: 0 }]);
  });

  it('outlives the connection that took it: a row, not a session (a transaction pooler may hand each statement another connection)', async () => {
    const other = createSql({ url: db.url, ssl: 'disable', max: 1 });
    const lock = await takeLocalRunLock(other, lockOptions());
    expect(lock.kind).toBe('taken');
    // Every server connection the taker used is closed; the lease stays until released.
    await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
    expect((await takeLocalRunLock(db.sql, lockOptions())).kind).toBe('held');
    await release(lock); // on a new connection of the same pool
    expect(await db.sql`select * from local_run_lease`).toEqual([]);
    await other.end();
  });

  it('names the job of the run that holds it', async () => {
    const options = lockOptions();
    const lock = await takeLocalRunLock(db.sql, options);
    const jobId = await runningJob(options.executionArn, 5);
    const held = await takeLocalRunLock(db.sql, lockOptions());
    expect(held).toMatchObject({ kind: 'held', runningJobId: jobId });
    expect(held.kind === 'held' && held.runningForSeconds).toBeGreaterThanOrEqual(300);
    await db.sql`update polling_job_status set status = 'completed' where id = ${jobId}`;
    await release(lock);
  });

  it('is refused while a run started elsewhere (a running AWS job younger than the run timeout) holds the job, naming it', async () => {
    const [job] = await db.sql<{ id: string }[]>`
      insert into polling_job_status (job_name, execution_arn, started_at)
      values (${jobName}, 'arn:aws:states:eu-west-1:123456789012:execution:sender-sync:x', now() - interval '5 minutes') returning id`;
    const held = await takeLocalRunLock(db.sql, lockOptions());
    expect(held).toMatchObject({ kind: 'held', runningJobId: job.id });
    // Refused without a trace: the lease row it inserted was rolled back.
    expect(await db.sql`select * from local_run_lease`).toEqual([]);
    // A running row older than the timeout is a dead execution's, which Start job marks failed: no obstacle.
    await db.sql`update polling_job_status set started_at = now() - interval '61 minutes' where id = ${job.id}`;
    const lock = await takeLocalRunLock(db.sql, lockOptions());
    expect(lock).toMatchObject({ kind: 'taken', tookOver: undefined });
    await release(lock);
    await db.sql`update polling_job_status set status = 'failed' where id = ${job.id}`;
  });

  it('takes over a run whose heartbeat stopped over a minute ago (on another machine): its job failed, saying why', async () => {
    const dead = localExecutionArn(randomUUID());
    await db.sql`
      insert into local_run_lease (job_name, holder, holder_host, holder_pid, execution_arn, heartbeat_at)
      values (${jobName}, ${randomUUID()}, 'another-laptop', 4242, ${dead}, now() - interval '75 seconds')`;
    const jobId = await runningJob(dead);
    const lock = await takeLocalRunLock(db.sql, lockOptions());
    expect(lock.kind).toBe('taken');
    if (lock.kind !== 'taken') return;
    expect(lock.tookOver).toMatchObject({ holder: 'pid 4242 on another-laptop', failedJobIds: [jobId] });
    expect(lock.tookOver?.why).toMatch(/^its heartbeat stopped 7\d s ago$/);
    expect(describeTakeover(lock.tookOver!)).toBe(
      `A previous local run (pid 4242 on another-laptop) stopped without finishing (${lock.tookOver?.why}); job ${jobId} marked failed ("${DEAD_RUN_REASON}"): this run takes over.`,
    );
    const [job] = await db.sql`select status, error_message, completed_at is not null as ended from polling_job_status where id = ${jobId}`;
    expect(job).toEqual({ status: 'failed', error_message: 'the local run stopped without finishing', ended: true });
    await release(lock);
  });

  it('takes over at once a run of this machine whose process is gone (kill -9), however fresh its heartbeat', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    const me = thisProcess();
    const dead = localExecutionArn(randomUUID());
    await db.sql`
      insert into local_run_lease (job_name, holder, holder_host, holder_boot_id, holder_pid, execution_arn)
      values (${jobName}, ${randomUUID()}, ${me.host}, ${me.bootId ?? null}, ${gone}, ${dead})`;
    const jobId = await runningJob(dead);
    const lock = await takeLocalRunLock(db.sql, lockOptions());
    expect(lock).toMatchObject({ kind: 'taken', tookOver: { why: 'its process is gone', failedJobIds: [jobId] } });
    expect((await db.sql`select status from polling_job_status where id = ${jobId}`)[0].status).toBe('failed');
    await release(lock);
  });

  it('keeps a live run of another machine: a fresh heartbeat holds, whatever its pid', async () => {
    await db.sql`
      insert into local_run_lease (job_name, holder, holder_host, holder_pid, execution_arn)
      values (${jobName}, ${randomUUID()}, 'another-laptop', 1, ${localExecutionArn(randomUUID())})`;
    expect((await takeLocalRunLock(db.sql, lockOptions())).kind).toBe('held');
    await db.sql`delete from local_run_lease`;
  });

  it('fails a local job left running with no lease (a run of the session-lock era), and takes the lease', async () => {
    const jobId = await runningJob(localExecutionArn(randomUUID()), 30);
    const lock = await takeLocalRunLock(db.sql, lockOptions());
    expect(lock).toMatchObject({ kind: 'taken', tookOver: { why: 'it left its job running', failedJobIds: [jobId] } });
    await release(lock);
  });

  it('beats while held, and reports once when another run took the lease over', async () => {
    let lost = 0;
    const lock = await takeLocalRunLock(db.sql, { ...lockOptions(), heartbeatMs: 50, onLost: () => lost++ });
    const beat = async () => (await db.sql<{ at: Date }[]>`select heartbeat_at as at from local_run_lease`)[0].at.getTime();
    const first = await beat();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await beat()).toBeGreaterThan(first);
    await db.sql`update local_run_lease set holder = ${randomUUID()}`;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lost).toBe(1);
    await release(lock); // deletes only its own lease: the other run's stays
    expect(await db.sql`select count(*)::int as n from local_run_lease`).toEqual([{ n: 1 }]);
    await db.sql`delete from local_run_lease`;
  });

  it("lets Start job (a trigger on AWS too) pass a dead local run's running job at once, and refuses while the local run lives", async () => {
    const options = lockOptions();
    const lock = await takeLocalRunLock(db.sql, options);
    const jobId = await runningJob(options.executionArn);
    const start = () =>
      startJob(db.sql, { jobName, runTimeoutMinutes: 120, executionArn: `arn:aws:states:eu-west-1:1:execution:s:${randomUUID()}` });
    // Alive: its lease beats.
    expect(await start()).toMatchObject({ status: 'already_running', runningJobId: jobId });
    // Silent for over a minute: dead, though its job is one minute old (the run timeout is two hours).
    await db.sql`update local_run_lease set heartbeat_at = now() - interval '61 seconds'`;
    const started = await start();
    expect(started.status).toBe('started');
    expect(await db.sql`select status, error_message from polling_job_status where id = ${jobId}`).toEqual([
      { status: 'failed', error_message: DEAD_RUN_REASON },
    ]);
    await release(lock);
    if (started.status === 'started') await db.sql`update polling_job_status set status = 'completed' where id = ${started.jobId}`;
  });
});
