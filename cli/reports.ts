import type { Sql } from '../lambdas/db/client';

/* The operator's questions, answered from the job tables. */

export interface JobRow {
  id: string;
  job_name: string;
  status: string;
  started_at: Date;
  completed_at: Date | null;
  duration_ms: number | null;
  total_workspaces: number;
  workspaces_processed: number;
  workspaces_failed: number;
  workspaces_skipped: number;
  total_accounts_synced: number;
  total_accounts_removed: number;
  warnings: string[] | null;
  error_message: string | null;
  execution_arn: string | null;
  trigger_source: string;
}

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

export async function findJob(sql: Sql, jobId?: string): Promise<JobRow | undefined> {
  const [job] = jobId
    ? await sql<JobRow[]>`select * from polling_job_status where id::text = ${jobId}`
    : await sql<JobRow[]>`select * from polling_job_status order by started_at desc limit 1`;
  return job;
}

export async function jobWorkspaces(sql: Sql, jobId: string): Promise<JobWorkspaceRow[]> {
  return sql<JobWorkspaceRow[]>`
    select workspace_name, status, accounts_synced, accounts_written, accounts_removed, pages, api_requests,
           retries, rate_limit_wait_ms, invocations, duration_ms, warnings, error
    from polling_job_workspaces where job_id = ${jobId} order by workspace_name
  `;
}

export interface MissingRow {
  name: string;
  removed_accounts: number;
  last_status: string | null;
  last_error: string | null;
  last_synced_at: Date | null;
}

/** Active workspaces with no live account, and what their last sync said. */
export async function missingWorkspaces(sql: Sql): Promise<MissingRow[]> {
  return sql<MissingRow[]>`
    select w.name,
           (select count(*)::int from sender_emails se where se.workspace_id = w.id and se.deleted_at is not null) as removed_accounts,
           last.status as last_status,
           coalesce(last.error, array_to_string(last.warnings, '; ')) as last_error,
           last.finished_at as last_synced_at
    from workspaces w
    left join lateral (
      select status, error, warnings, finished_at from polling_job_workspaces pjw
      where pjw.workspace_id = w.id order by created_at desc limit 1
    ) last on true
    where w.active
      and not exists (select 1 from sender_emails se where se.workspace_id = w.id and se.deleted_at is null)
    order by w.name
  `;
}

export interface AccountsRow {
  name: string;
  live: number;
  removed: number;
  last_synced_at: Date | null;
  last_status: string | null;
}

export async function accountsPerWorkspace(sql: Sql): Promise<AccountsRow[]> {
  return sql<AccountsRow[]>`
    select w.name,
           count(se.id) filter (where se.deleted_at is null)::int as live,
           count(se.id) filter (where se.deleted_at is not null)::int as removed,
           last.finished_at as last_synced_at,
           last.status as last_status
    from workspaces w
    left join sender_emails se on se.workspace_id = w.id
    left join lateral (
      select status, finished_at from polling_job_workspaces pjw
      where pjw.workspace_id = w.id order by created_at desc limit 1
    ) last on true
    where w.active
    group by w.id, w.name, last.finished_at, last.status
    order by w.name
  `;
}

export async function findJobByExecution(sql: Sql, executionArn: string): Promise<JobRow | undefined> {
  const [job] = await sql<JobRow[]>`select * from polling_job_status where execution_arn = ${executionArn}`;
  return job;
}
