import type { Sql } from '../db/client';
import { JobNotFoundError } from '../errors';

/*
 * A job as everyone reads it: the finalizer's result (and the state machine's output),
 * the run metrics, the local run's outcome and the CLI's reports. One row of
 * polling_job_status, in the words of the code; the CLI prints the column names.
 */

export type JobStatus = 'running' | 'completed' | 'partial' | 'failed';

export interface JobRecord {
  jobId: string;
  jobName: string;
  /** `sync`: the account sync; `warmup`: the daily warmup pass (job name `<JOB_NAME>-warmup`). */
  runMode: 'sync' | 'warmup';
  /** The UTC day a warmup pass read (YYYY-MM-DD); null for a sync. */
  warmupDay: string | null;
  status: JobStatus;
  triggerSource: string;
  executionArn: string | null;
  startedAt: Date;
  completedAt: Date | null;
  durationMs: number | null;
  totalWorkspaces: number;
  /** workspaces_processed: the workspaces that synced. */
  workspacesSynced: number;
  workspacesFailed: number;
  /** Not synced: deferred to the next run by Start job's plan; also counted in workspacesSkipped. */
  workspacesSkipped: number;
  workspacesDeferred: number;
  totalAccountsSynced: number;
  totalAccountsRemoved: number;
  /** Summed over the job's workspaces. */
  rateLimitWaitMs: number;
  warnings: string[];
  errorMessage: string | null;
}

/** One workspace of a job, as polling_job_workspaces records it. */
export interface JobWorkspaceRow {
  workspace_name: string;
  status: string;
  accounts_synced: number;
  accounts_written: number;
  accounts_removed: number;
  pages: number;
  api_requests: number;
  retries: number;
  rate_limit_wait_ms: number;
  invocations: number;
  duration_ms: number | null;
  warnings: string[];
  error: string | null;
}

/** The job of that id; JobNotFoundError when there is none. */
export async function readJob(sql: Sql, jobId: string): Promise<JobRecord> {
  const [job] = await selectJobs(sql, sql`j.id = ${jobId}`);
  if (!job) throw new JobNotFoundError(`No job ${jobId} in polling_job_status.`);
  return job;
}

/**
 * The job of that id (any text: an id that is not a UUID finds nothing), or the latest job
 * (with `mode`, the latest of that pass: the account sync's or the warmup pass's).
 */
export async function findJob(sql: Sql, jobId?: string, options: { mode?: JobRecord['runMode'] } = {}): Promise<JobRecord | undefined> {
  if (jobId === undefined) {
    const mode = options.mode ?? null;
    const [latest] = await selectJobs(
      sql,
      sql`j.id = (select id from polling_job_status where ${mode}::text is null or run_mode = ${mode} order by started_at desc limit 1)`,
    );
    return latest;
  }
  if (!UUID.test(jobId)) return undefined;
  return (await selectJobs(sql, sql`j.id = ${jobId}`))[0];
}

/** The job a Step Functions execution (or a local run) created, if it got that far. */
export async function findJobByExecution(sql: Sql, executionArn: string): Promise<JobRecord | undefined> {
  return (await selectJobs(sql, sql`j.execution_arn = ${executionArn}`))[0];
}

export async function jobWorkspaces(sql: Sql, jobId: string): Promise<JobWorkspaceRow[]> {
  return sql<JobWorkspaceRow[]>`
    select workspace_name, status, accounts_synced, accounts_written, accounts_removed, pages, api_requests,
           retries, rate_limit_wait_ms, invocations, duration_ms, warnings, error
    from polling_job_workspaces where job_id = ${jobId} order by workspace_name
  `;
}

/** The latest `limit` jobs, newest first. */
export async function listJobs(sql: Sql, limit: number): Promise<JobRecord[]> {
  const jobs = await selectJobs(sql, sql`j.id in (select id from polling_job_status order by started_at desc limit ${limit})`);
  return jobs.sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
}

/** A job in the words of polling_job_status (its column names), for the CLI's `--json`. */
export function jobColumns(job: JobRecord) {
  return {
    id: job.jobId,
    job_name: job.jobName,
    run_mode: job.runMode,
    warmup_day: job.warmupDay,
    status: job.status,
    trigger_source: job.triggerSource,
    execution_arn: job.executionArn,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    duration_ms: job.durationMs,
    total_workspaces: job.totalWorkspaces,
    workspaces_processed: job.workspacesSynced,
    workspaces_failed: job.workspacesFailed,
    workspaces_skipped: job.workspacesSkipped,
    workspaces_deferred: job.workspacesDeferred,
    total_accounts_synced: job.totalAccountsSynced,
    total_accounts_removed: job.totalAccountsRemoved,
    rate_limit_wait_ms: job.rateLimitWaitMs,
    warnings: job.warnings,
    error_message: job.errorMessage,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function selectJobs(sql: Sql, where: ReturnType<Sql>): Promise<JobRecord[]> {
  return sql<JobRecord[]>`
    select j.id as "jobId", j.job_name as "jobName", j.run_mode as "runMode", to_char(j.warmup_day, 'YYYY-MM-DD') as "warmupDay", j.status, j.trigger_source as "triggerSource",
           j.execution_arn as "executionArn", j.started_at as "startedAt", j.completed_at as "completedAt",
           j.duration_ms as "durationMs", j.total_workspaces as "totalWorkspaces",
           j.workspaces_processed as "workspacesSynced", j.workspaces_failed as "workspacesFailed",
           j.workspaces_skipped as "workspacesSkipped", j.workspaces_deferred as "workspacesDeferred", j.total_accounts_synced as "totalAccountsSynced",
           j.total_accounts_removed as "totalAccountsRemoved",
           coalesce((select sum(w.rate_limit_wait_ms) from polling_job_workspaces w where w.job_id = j.id), 0)::int as "rateLimitWaitMs",
           coalesce(j.warnings, '{}') as warnings, j.error_message as "errorMessage"
    from polling_job_status j
    where ${where}
  `;
}
