import type { Sql } from '../db/client';
import { describeError, JobNotFoundError } from '../errors';
import { aggregate, type WorkspaceRow } from './aggregate';
import { readJob, type JobRecord, type JobStatus } from './read-job';
import { recordRunChanges } from './run-changes';

/**
 * Aggregates a job's workspace rows into its polling_job_status row:
 * `completed` when every workspace synced, `partial` when some did not (each named in
 * a warning), `failed` when none did or the run itself broke (`runError`).
 * Records the run's change counts (run-changes.ts) in the same transaction.
 * Only a `running` job is written, so finalizing twice returns the same row (a retried
 * Finalize job, or a redriven execution that reaches here for a job marked failed).
 */
export async function finalizeJob(sql: Sql, jobId: string, options: { runError?: string } = {}): Promise<JobRecord> {
  return (await finalizeRunningJob(sql, jobId, options)).job;
}

/**
 * finalizeJob, also saying whether this call wrote the row (`finalized`): false when the
 * job had already ended, e.g. a retried Finalize job whose first attempt committed. What
 * happens once per run (its metrics) happens only when `finalized`.
 */
export async function finalizeRunningJob(
  sql: Sql,
  jobId: string,
  options: { runError?: string } = {},
): Promise<{ job: JobRecord; finalized: boolean }> {
  return sql.begin(async (tx) => {
    const [job] = await tx<{ status: JobStatus }[]>`select status from polling_job_status where id = ${jobId} for update`;
    if (!job) throw new JobNotFoundError(`No job ${jobId} in polling_job_status.`);
    if (job.status === 'running') {
      const workspaces = await tx<WorkspaceRow[]>`
        select workspace_name, status, accounts_synced, accounts_removed, rate_limit_wait_ms, warnings, error
        from polling_job_workspaces where job_id = ${jobId} order by workspace_name
      `;
      const outcome = aggregate(workspaces, options.runError);
      await tx`
        update polling_job_status set
          status = ${outcome.status},
          completed_at = now(),
          duration_ms = (extract(epoch from now() - started_at) * 1000)::int,
          total_workspaces = ${workspaces.length},
          workspaces_processed = ${outcome.synced},
          workspaces_failed = ${outcome.failed},
          workspaces_skipped = ${outcome.skipped},
          workspaces_deferred = ${outcome.deferred},
          total_accounts_synced = ${outcome.accountsSynced},
          total_accounts_removed = ${outcome.accountsRemoved},
          warnings = ${outcome.warnings}::text[],
          error_message = ${outcome.errorMessage}
        where id = ${jobId}
      `;
      if (outcome.status === 'failed' && options.runError) {
        await tx`
          update polling_job_workspaces
          set status = 'skipped', error = coalesce(error, 'not synced: the run ended before this workspace finished'), finished_at = now()
          where job_id = ${jobId} and status in ('pending', 'running')
        `;
      }
      await tx`delete from polling_job_seen_accounts where job_id = ${jobId}`;
      // completed_at is now(): the digest's window ends where the next run's begins.
      await recordRunChanges(tx as unknown as Sql, jobId);
    }
    return { job: await readJob(tx as unknown as Sql, jobId), finalized: job.status === 'running' };
  });
}

/**
 * For runs that broke or were killed from outside (aborted, timed out, a state that
 * failed): fails the job found by id or execution ARN, only if it is still running.
 * Returns undefined when there is no such job (the run failed before creating one).
 */
export async function failRun(sql: Sql, target: { jobId?: string; executionArn?: string }, reason: string): Promise<JobRecord | undefined> {
  return (await failRunningJob(sql, target, reason))?.job;
}

/** failRun, also saying whether this call ended the job (`finalized`), as finalizeRunningJob does. */
export async function failRunningJob(
  sql: Sql,
  target: { jobId?: string; executionArn?: string },
  reason: string,
): Promise<{ job: JobRecord; finalized: boolean } | undefined> {
  const [job] = target.jobId
    ? await sql<{ id: string }[]>`select id from polling_job_status where id = ${target.jobId}`
    : target.executionArn
      ? await sql<{ id: string }[]>`select id from polling_job_status where execution_arn = ${target.executionArn}`
      : [];
  if (!job) return undefined;
  return finalizeRunningJob(sql, job.id, { runError: truncate(reason) });
}

/**
 * Records the error of a workspace whose sync gave up (after the state machine's retries),
 * while its job runs: a job that ended keeps the rows it ended with.
 * Returns the workspace's name as the job recorded it (undefined for a workspace not in the job).
 */
export async function recordWorkspaceFailure(sql: Sql, jobId: string, workspaceId: number, error: string): Promise<string | undefined> {
  await sql`
    update polling_job_workspaces set
      status = 'failed',
      error = ${truncate(error)},
      finished_at = now(),
      duration_ms = (extract(epoch from now() - coalesce(started_at, created_at)) * 1000)::int,
      cursor = null,
      -- An invocation still holding the workspace loses its lease: it writes nothing more.
      lease_id = null,
      lease_expires_at = null
    where job_id = ${jobId} and workspace_id = ${workspaceId} and status <> 'synced'
      and exists (select 1 from polling_job_status where id = ${jobId} and status = 'running')
  `;
  await sql`delete from polling_job_seen_accounts where job_id = ${jobId} and workspace_id = ${workspaceId}`;
  const [row] = await sql<{ workspace_name: string }[]>`
    select workspace_name from polling_job_workspaces where job_id = ${jobId} and workspace_id = ${workspaceId}
  `;
  return row?.workspace_name;
}

/** A Step Functions Catch gives `{ Error, Cause }`; Cause holds the Lambda's `{errorType, errorMessage}` JSON. */
export function describeStepFunctionsError(error: unknown): string {
  if (!error || typeof error !== 'object') return describeError(error);
  const { Error: name, Cause: cause } = error as { Error?: string; Cause?: string };
  let message = cause ?? '';
  try {
    const parsed = JSON.parse(cause ?? '');
    if (parsed && typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // Cause is plain text for States.* errors.
  }
  return truncate(`${name ?? 'Error'}: ${message}`.replace(/\s+/g, ' ').trim());
}

function truncate(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
