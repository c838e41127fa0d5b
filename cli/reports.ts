import type { Sql } from '../lambdas/db/client';
import { sortByName } from './words';

/*
 * The operator's questions about workspaces; a job's own reads are in lambdas/jobs/read-job.ts.
 * Rows come back in a person's order (sortByName), not the database's collation (bytes under C).
 */

export interface MissingRow {
  name: string;
  removed_accounts: number;
  last_status: string | null;
  last_error: string | null;
  last_synced_at: Date | null;
}

/** Active workspaces with no live account, and what their last sync said. */
export async function missingWorkspaces(sql: Sql): Promise<MissingRow[]> {
  const rows = await sql<MissingRow[]>`
    select w.name,
           (select count(*)::int from sender_emails se where se.workspace_id = w.id and se.deleted_at is not null) as removed_accounts,
           last.status as last_status,
           coalesce(last.error, array_to_string(last.warnings, '; ')) as last_error,
           last.finished_at as last_synced_at
    from workspaces w
    left join lateral (
      select status, error, warnings, finished_at from polling_job_workspaces pjw
      where pjw.workspace_id = w.id
        -- The account sync's, not the warmup pass's.
        and (select run_mode from polling_job_status j where j.id = pjw.job_id) = 'sync'
      order by created_at desc limit 1
    ) last on true
    where w.active
      and not exists (select 1 from sender_emails se where se.workspace_id = w.id and se.deleted_at is null)
  `;
  return sortByName(rows, (r) => r.name);
}

export interface AccountsRow {
  name: string;
  live: number;
  removed: number;
  last_synced_at: Date | null;
  last_status: string | null;
}

export async function accountsPerWorkspace(sql: Sql): Promise<AccountsRow[]> {
  const rows = await sql<AccountsRow[]>`
    select w.name,
           count(se.id) filter (where se.deleted_at is null)::int as live,
           count(se.id) filter (where se.deleted_at is not null)::int as removed,
           last.finished_at as last_synced_at,
           last.status as last_status
    from workspaces w
    left join sender_emails se on se.workspace_id = w.id
    left join lateral (
      select status, finished_at from polling_job_workspaces pjw
      where pjw.workspace_id = w.id
        -- The account sync's, not the warmup pass's.
        and (select run_mode from polling_job_status j where j.id = pjw.job_id) = 'sync'
      order by created_at desc limit 1
    ) last on true
    where w.active
    group by w.id, w.name, last.finished_at, last.status
  `;
  return sortByName(rows, (r) => r.name);
}
