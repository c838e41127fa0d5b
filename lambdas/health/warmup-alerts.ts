import type postgres from 'postgres';
import type { Sql } from '../db/client';

/** A query fragment yielding sender_email_warmup_daily rows. */
export type WarmupRows = postgres.PendingQuery<postgres.Row[]>;

/*
 * Warmup health alerts (issue 24 item 2): an account whose warmup score fell by at least
 * `dropPoints` since its previous row, fell under `floor`, or was disabled for bouncing.
 * Each row judged is compared with the account's previous row (the latest earlier day it
 * has: a day the pass missed does not hide a drop), one index probe on the primary key per
 * row, in one statement for every workspace at once.
 *
 * The floor alerts a crossing, not a state: an account is named the day its score goes
 * under the floor (or the first day it is seen, when it arrives under it), not every day it
 * stays there; `sender-sync health` lists the ones that stay low (its worst accounts).
 * Disabled for bouncing: warmup_disabled_for_bouncing_count rose since the previous row
 * (or is above 0 on an account's first row). A webhook's warmup_disabled_* event is named by
 * the run digest already (sender_email_changes.reason, migration 013).
 */

export interface WarmupThresholds {
  /** Points lost since the previous row that make an alert (WARMUP_SCORE_DROP_POINTS). */
  dropPoints: number;
  /** The score an account is alerted for falling under (WARMUP_SCORE_FLOOR). */
  floor: number;
}

export interface WarmupAlert {
  emailbisonId: number;
  email: string | null;
  day: string;
  score: number | null;
  previousDay: string | null;
  previousScore: number | null;
  dropped: boolean;
  underFloor: boolean;
  disabledForBouncing: boolean;
}

export interface WorkspaceWarmupAlerts {
  workspaceId: number;
  workspace: string;
  /** At most `listed` per workspace, lowest score first. */
  alerts: WarmupAlert[];
  /** Alerts of the workspace not in `alerts`. */
  notListed: number;
}

/**
 * The alerts of the rows `rows` selects (a fragment yielding sender_email_warmup_daily
 * rows), per workspace, at most `listed` each, the rest counted.
 */
export async function warmupAlerts(
  sql: Sql,
  rows: WarmupRows,
  thresholds: WarmupThresholds,
  listed: number,
): Promise<WorkspaceWarmupAlerts[]> {
  const found = await sql<
    {
      workspace_id: number;
      workspace_name: string;
      emailbison_id: string;
      email: string | null;
      day: string;
      score: number | null;
      previous_day: string | null;
      previous_score: number | null;
      dropped: boolean;
      under_floor: boolean;
      disabled_for_bouncing: boolean;
      total: number;
    }[]
  >`
    with judged as (
      select c.workspace_id, c.emailbison_id, c.day::text as day, c.warmup_score::float8 as score,
        prev.day::text as previous_day, prev.warmup_score::float8 as previous_score,
        coalesce(prev.warmup_score - c.warmup_score >= ${thresholds.dropPoints}, false) as dropped,
        coalesce(c.warmup_score < ${thresholds.floor} and (prev.warmup_score is null or prev.warmup_score >= ${thresholds.floor}), false)
          as under_floor,
        coalesce(c.warmup_disabled_for_bouncing_count, 0) > coalesce(prev.warmup_disabled_for_bouncing_count, 0) as disabled_for_bouncing
      from (${rows}) c
      left join lateral (
        select p.day, p.warmup_score, p.warmup_disabled_for_bouncing_count
        from sender_email_warmup_daily p
        where p.workspace_id = c.workspace_id and p.emailbison_id = c.emailbison_id and p.day < c.day
        order by p.day desc
        limit 1
      ) prev on true
    ),
    ranked as (
      select j.*,
        row_number() over (partition by j.workspace_id order by j.score nulls last, j.emailbison_id, j.day) as listed,
        count(*) over (partition by j.workspace_id)::int as total
      from judged j
      where j.dropped or j.under_floor or j.disabled_for_bouncing
    )
    select r.*, w.name as workspace_name, se.email
    from ranked r
    join workspaces w on w.id = r.workspace_id
    left join sender_emails se on se.workspace_id = r.workspace_id and se.emailbison_id = r.emailbison_id
    where r.listed <= ${listed}
    order by w.name, r.workspace_id, r.listed
  `;
  const workspaces = new Map<number, WorkspaceWarmupAlerts>();
  for (const row of found) {
    let workspace = workspaces.get(row.workspace_id);
    if (!workspace) {
      workspace = { workspaceId: row.workspace_id, workspace: row.workspace_name, alerts: [], notListed: row.total };
      workspaces.set(row.workspace_id, workspace);
    }
    workspace.notListed--;
    workspace.alerts.push({
      emailbisonId: Number(row.emailbison_id),
      email: row.email,
      day: row.day,
      score: row.score,
      previousDay: row.previous_day,
      previousScore: row.previous_score,
      dropped: row.dropped,
      underFloor: row.under_floor,
      disabledForBouncing: row.disabled_for_bouncing,
    });
  }
  return [...workspaces.values()];
}

/**
 * The rows a job wrote: a warmup pass reads one day (polling_job_status.warmup_day), so its
 * rows are found on that day of the day index (sender_email_warmup_daily_day_idx), never by
 * reading the table's history. A job that read no day (an account sync) wrote none.
 */
export function rowsWrittenBy(sql: Sql, jobId: string): WarmupRows {
  return sql`
    select d.* from sender_email_warmup_daily d
    where d.day = (select warmup_day from polling_job_status where id = ${jobId}::uuid)
      and d.job_id = ${jobId}::uuid
  `;
}

/** The alerts of the warmup rows a job wrote: what its digest names. */
export function jobWarmupAlerts(sql: Sql, jobId: string, thresholds: WarmupThresholds, listed: number) {
  return warmupAlerts(sql, rowsWrittenBy(sql, jobId), thresholds, listed);
}

/** One line of a digest or of `health`: `a@x.io: score 91 → 64 (-27), under 70, disabled for bouncing`. */
export function describeAlert(alert: WarmupAlert, thresholds: WarmupThresholds): string {
  const score =
    alert.previousScore !== null && alert.score !== null
      ? `score ${formatScore(alert.previousScore)} → ${formatScore(alert.score)} (${signed(alert.score - alert.previousScore)})`
      : `score ${alert.score === null ? 'none' : formatScore(alert.score)}`;
  const what = [
    score,
    alert.underFloor ? `under ${formatScore(thresholds.floor)}` : undefined,
    alert.disabledForBouncing ? 'warmup disabled for bouncing' : undefined,
  ];
  return `${alert.email ?? `account ${alert.emailbisonId}`}: ${what.filter(Boolean).join(', ')}`;
}

/** -22, +16: a change of score. */
function signed(delta: number): string {
  return `${delta > 0 ? '+' : ''}${formatScore(delta)}`;
}

export function formatScore(score: number): string {
  return String(Math.round(score * 100) / 100);
}
