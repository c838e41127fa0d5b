import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCompat } from '../../../lambdas/compat/install';
import { uninstallCompat } from '../../../lambdas/compat/uninstall';
import { failRun } from '../../../lambdas/jobs/finalize-job';
import { startJob } from '../../../lambdas/jobs/start-job';
import { createMarkFailedTask } from '../../../lambdas/mark-failed/task';
import { createTestDatabase } from '../../helpers/database';
import { runLocally } from '../../helpers/local-run';
import { createWorld, type World } from '../../helpers/world';

/*
 * Issue 23 item 4: once compat is installed, every run keeps a sync_progress row current, with
 * no change to the Lambdas: the real state machine run locally, its real handlers, the
 * simulator. A test-only trigger logs every version of the row, so the test sees it move.
 */
const db = await createTestDatabase();
const sql = db.sql;
let world: World;

interface Step {
  status: string;
  workspaces_completed: number;
  total_workspaces: number;
  total_accounts: number;
  current_workspace: string | null;
  completed_at: Date | null;
  error_message: string | null;
}

beforeAll(async () => {
  world = await createWorld(sql, { scenario: 'grid:4:40', config: { JOB_NAME: 'poll-sender-emails' } });
  const installed = await installCompat(sql, { schema: 'public' });
  expect(installed.status).toBe('installed');
  await sql.unsafe(`
    create table progress_log (n serial primary key, job_id uuid, status text, workspaces_completed int, total_workspaces int,
      total_accounts int, current_workspace text, completed_at timestamptz, error_message text);
    create function log_progress() returns trigger language plpgsql as $$
    begin
      insert into public.progress_log (job_id, status, workspaces_completed, total_workspaces, total_accounts, current_workspace, completed_at, error_message)
      values (new.job_id, new.status, new.workspaces_completed, new.total_workspaces, new.total_accounts, new.current_workspace, new.completed_at, new.error_message);
      return null;
    end $$;
    create trigger log_progress after insert or update on sync_progress for each row execute function log_progress();
  `);
});
afterAll(() => world.sim.close());

async function stepsOf(jobId: string): Promise<Step[]> {
  return sql<Step[]>`
    select status, workspaces_completed, total_workspaces, total_accounts, current_workspace, completed_at, error_message
    from progress_log where job_id = ${jobId} order by n
  `;
}

async function jobOf(executionArn: string | undefined) {
  const [job] =
    await sql`select id, job_name, status, total_accounts_synced, error_message from polling_job_status where execution_arn = ${executionArn ?? ''}`;
  return job;
}

describe('sync_progress during a run', () => {
  it('is created running with the job, counts workspaces as they finish, and ends completed with the totals', async () => {
    const result = await runLocally(world.deps, {});
    expect(result.status).toBe('SUCCEEDED');
    const job = await jobOf(result.executionArn);
    expect(job).toMatchObject({ job_name: 'poll-sender-emails', status: 'completed' });

    const steps = await stepsOf(job.id);
    expect(steps[0]).toMatchObject({ status: 'running', workspaces_completed: 0, total_workspaces: 4, completed_at: null });
    const running = steps.filter((s) => s.status === 'running');
    const completedCounts = running.map((s) => s.workspaces_completed);
    expect(completedCounts).toEqual([...completedCounts].sort((a, b) => a - b));
    // The bar moved during the run: each of the four workspaces counted while the job still ran.
    expect(new Set(completedCounts)).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(running.some((s) => world.names.includes(s.current_workspace ?? ''))).toBe(true);
    const last = steps.at(-1);
    expect(last).toMatchObject({
      status: 'completed',
      workspaces_completed: 4,
      total_workspaces: 4,
      total_accounts: job.total_accounts_synced,
      current_workspace: null,
    });
    expect(last?.completed_at).toBeInstanceOf(Date);
    expect(job.total_accounts_synced).toBe(160);
    expect(await sql`select job_name, status from sync_progress where job_id = ${job.id}`).toEqual([
      { job_name: 'poll-sender-emails', status: 'completed' },
    ]);
    // The sync's upserts (insert ... on conflict do update) kept the mailbox counts exact.
    const [{ mismatches, domains }] = await sql`
      select count(*) filter (where coalesce(m.mailboxes, 0) <> coalesce(t.mailboxes, 0))::int as mismatches, count(*)::int as domains
      from compat_domain_mailboxes m
      full join (
        select workspace_id, split_part(email, '@', 2) as domain, count(*)::int as mailboxes
        from sender_emails where deleted_at is null group by 1, 2
      ) t using (workspace_id, domain)
    `;
    expect({ mismatches, some: domains > 0 }).toEqual({ mismatches: 0, some: true });
  });

  it('ends failed, with the error, when the job fails', async () => {
    world.sim.setFaults('*', { rejectKey: true });
    const result = await runLocally(world.deps, {});
    world.sim.clearFaults();
    const job = await jobOf(result.executionArn);
    expect(job.status).toBe('failed');
    const [row] = await sql`select status, error_message, completed_at from sync_progress where job_id = ${job.id}`;
    expect(row.status).toBe('failed');
    expect(row.error_message).toBe(job.error_message);
    expect(row.completed_at).toBeInstanceOf(Date);
  });

  it('ends failed when mark-failed ends a run that broke, and when a later run fails a stale one', async () => {
    const started = await startJob(sql, { jobName: 'poll-sender-emails', runTimeoutMinutes: 60 });
    if (started.status !== 'started') throw new Error(started.status);
    expect((await sql`select status from sync_progress where job_id = ${started.jobId}`)[0].status).toBe('running');
    await createMarkFailedTask(world.deps)({
      scope: 'run',
      jobId: started.jobId,
      error: { Error: 'Lambda.Unknown', Cause: 'the Lambda died' },
    });
    const [broke] = await sql`select status, error_message from sync_progress where job_id = ${started.jobId}`;
    expect(broke.status).toBe('failed');
    expect(broke.error_message).toContain('Lambda.Unknown');

    const stale = await startJob(sql, { jobName: 'poll-sender-emails', runTimeoutMinutes: 60 });
    if (stale.status !== 'started') throw new Error(stale.status);
    await sql`update polling_job_status set started_at = now() - interval '2 hours' where id = ${stale.jobId}`;
    const next = await startJob(sql, { jobName: 'poll-sender-emails', runTimeoutMinutes: 60 });
    expect(next.status).toBe('started');
    const [old] = await sql`select status, error_message from sync_progress where job_id = ${stale.jobId}`;
    expect(old.status).toBe('failed');
    expect(old.error_message).toMatch(/still running after/);
    expect(await sql`select count(*)::int as n from sync_progress where status = 'running'`).toEqual([{ n: 1 }]);
  });

  it('gives a job already running at install its row, which then ends with it', async () => {
    const [running] = await sql<{ id: string }[]>`select id from polling_job_status where status = 'running'`;
    await uninstallCompat(sql);
    await installCompat(sql, { schema: 'public' });
    expect(await sql`select status, total_workspaces from sync_progress where job_id = ${running.id}`).toEqual([
      { status: 'running', total_workspaces: 4 },
    ]);
    await failRun(sql, { jobId: running.id }, 'stopped by the test');
    expect(await sql`select status, error_message from sync_progress where job_id = ${running.id}`).toEqual([
      { status: 'failed', error_message: 'stopped by the test' },
    ]);
  });
});
