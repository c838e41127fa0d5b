import type { Sql } from '../db/client';
import { JobNoLongerRunningError, WorkspaceLeaseLostError } from '../errors';
import type { Checkpoint, SavedWalk, WalkMode } from './walk-state';

/*
 * Who may write a workspace of a job. Step Functions does not stop a Lambda in flight when
 * its execution times out or is aborted, and a retried invoke can start while the first
 * still runs; so every write of the walk checks, in its own transaction, that the job is
 * still `running` and that this invocation still holds the workspace's lease
 * (polling_job_workspaces.lease_id, migration 007). Row locks, not an advisory lock: a
 * session-level advisory lock does not survive a transaction pooler.
 */

/** One invocation's claim on one workspace of one job. */
export interface LeaseHolder {
  jobId: string;
  workspaceId: number;
  /** For errors and warnings. */
  workspace: string;
  leaseId: string;
}

/** polling_job_workspaces as an invocation finds it when it begins. */
export interface Progress extends SavedWalk {
  status: string;
  /** As the workspace's completion recorded it (0 until then). */
  accounts_synced: number;
  /** Invocations of this workspace in the job before this one. */
  invocations: number;
  /** What the workspace learned in earlier runs (workspaces.pagination_mode). */
  pagination_mode: WalkMode | null;
}

export type Claim =
  | { kind: 'claimed'; progress: Progress }
  /** The job is no longer running (failed, aborted, finalized): nothing may be written. */
  | { kind: 'job-ended'; jobStatus: string }
  /** Another invocation holds the lease for `leaseMsLeft` more ms; `progress` as it saved it. */
  | { kind: 'held'; leaseMsLeft: number; progress: SavedWalk };

/**
 * Takes the workspace's lease for `leaseMs` (until this invocation is certainly gone) and
 * counts the invocation, if the job is running and no other live lease holds it.
 */
export async function claimWorkspace(sql: Sql, holder: LeaseHolder, leaseMs: number): Promise<Claim> {
  const { jobId, workspaceId, leaseId } = holder;
  const [row] = await sql<Progress[]>`
    update polling_job_workspaces w set
      status = case when w.status = 'pending' then 'running' else w.status end,
      started_at = coalesce(w.started_at, now()),
      invocations = w.invocations + 1,
      lease_id = ${leaseId},
      lease_expires_at = now() + ${Math.max(0, Math.round(leaseMs))} * interval '1 millisecond'
    from polling_job_status j
    where w.job_id = ${jobId} and w.workspace_id = ${workspaceId}
      and j.id = w.job_id and j.status = 'running'
      and (w.lease_id is null or w.lease_id = ${leaseId} or w.lease_expires_at <= now())
    returning w.status, w.accounts_synced, w.invocations - 1 as invocations, w.cursor, w.cursor_token, w.walk_mode, w.totals_seen,
      w.last_page, w.walk_pages, w.walk_items, w.walk_mixed, w.walk_cycle,
      (select pagination_mode from workspaces where id = ${workspaceId}) as pagination_mode
  `;
  if (row) return { kind: 'claimed', progress: row };
  const [found] = await sql<(SavedWalk & { job_status: string; lease_ms_left: number })[]>`
    select j.status as job_status, w.cursor, w.cursor_token, w.walk_mode, w.totals_seen, w.last_page,
      greatest(0, extract(epoch from w.lease_expires_at - now()) * 1000)::float8 as lease_ms_left
    from polling_job_workspaces w join polling_job_status j on j.id = w.job_id
    where w.job_id = ${jobId} and w.workspace_id = ${workspaceId}
  `;
  if (!found) throw new Error(`Job ${jobId} has no workspace ${workspaceId} to sync.`);
  if (found.job_status !== 'running') return { kind: 'job-ended', jobStatus: found.job_status };
  return { kind: 'held', leaseMsLeft: found.lease_ms_left, progress: found };
}

/** Gives the lease up, so a next invocation need not wait for it to expire. Only ever this holder's. */
export async function releaseLease(sql: Sql, holder: LeaseHolder): Promise<void> {
  await sql`
    update polling_job_workspaces set lease_id = null, lease_expires_at = null
    where job_id = ${holder.jobId} and workspace_id = ${holder.workspaceId} and lease_id = ${holder.leaseId}
  `;
}

/**
 * Saves where the walk stands, if the job is running and this invocation holds the lease;
 * else throws JobNoLongerRunningError or WorkspaceLeaseLostError, and the transaction it
 * runs in (a batch's) writes nothing. The job's row is locked FOR SHARE: marking the job
 * failed (finalize-job.ts locks it FOR UPDATE) waits for this transaction, and once it is
 * marked, no later check passes. Cost: this one statement per batch (it is also the
 * cursor save).
 */
export async function saveCheckpoint(sql: Sql, holder: LeaseHolder, checkpoint: Checkpoint): Promise<void> {
  const { stats } = checkpoint;
  const rows = await sql`
    with job as (
      select id from polling_job_status where id = ${holder.jobId} and status = 'running' for share
    )
    update polling_job_workspaces w set
      cursor = ${checkpoint.cursor?.mode === 'page' ? checkpoint.cursor.page : null},
      cursor_token = ${checkpoint.cursor?.mode === 'cursor' ? checkpoint.cursor.token : null},
      walk_mode = ${checkpoint.mode},
      walk_pages = ${checkpoint.walkPages},
      walk_items = ${checkpoint.walkItems},
      walk_mixed = ${checkpoint.walkMixed},
      walk_cycle = ${checkpoint.walkCycle === null ? null : sql.json({ ...checkpoint.walkCycle })},
      last_page = ${checkpoint.lastPage},
      totals_seen = ${checkpoint.totalsSeen}::int[],
      accounts_written = w.accounts_written + ${checkpoint.accountsWritten},
      warnings = w.warnings || ${checkpoint.warnings}::text[],
      pages = w.pages + ${stats.pages},
      api_requests = w.api_requests + ${stats.requests},
      retries = w.retries + ${stats.retries},
      skipped_items = w.skipped_items + ${stats.skippedItems},
      rate_limit_wait_ms = w.rate_limit_wait_ms + ${Math.round(stats.rateLimitWaitMs)}
    from job
    where w.job_id = job.id and w.workspace_id = ${holder.workspaceId} and w.lease_id = ${holder.leaseId}
    returning 1
  `;
  if (rows.length === 0) throw await ownershipLost(sql, holder);
}

/**
 * The start of a transaction that ends the workspace: locks the job's row (FOR SHARE) and
 * the workspace's (FOR UPDATE) if both are still this holder's to write, else throws.
 */
export async function lockOwnedWorkspace<T extends object>(tx: Sql, holder: LeaseHolder): Promise<T> {
  const [row] = await tx<T[]>`
    with job as (
      select id from polling_job_status where id = ${holder.jobId} and status = 'running' for share
    )
    select w.totals_seen, w.walk_mode, w.walk_items, w.walk_mixed
    from polling_job_workspaces w join job on job.id = w.job_id
    where w.workspace_id = ${holder.workspaceId} and w.lease_id = ${holder.leaseId}
    for update of w
  `;
  if (!row) throw await ownershipLost(tx, holder);
  return row;
}

/** Which of the two checks failed, as the error to stop with. */
export async function ownershipLost(sql: Sql, holder: LeaseHolder): Promise<JobNoLongerRunningError | WorkspaceLeaseLostError> {
  const [job] = await sql<{ status: string }[]>`select status from polling_job_status where id = ${holder.jobId}`;
  if (job?.status !== 'running')
    return new JobNoLongerRunningError({ workspace: holder.workspace, jobId: holder.jobId, jobStatus: job?.status });
  return new WorkspaceLeaseLostError({ workspace: holder.workspace, jobId: holder.jobId });
}
