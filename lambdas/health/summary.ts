import type { Sql } from '../db/client';
import { type WarmupAlert, type WarmupRows, type WarmupThresholds, warmupAlerts } from './warmup-alerts';

/*
 * `sender-sync health` (issue 24 item 2): per workspace, its live accounts by status, its
 * sending capacity, and its warmup as of its latest day with warmup rows.
 *
 * Capacity is the sum of daily_limit over connected accounts, twice: over all of them, and
 * over those ready to send, whose warmup is off or finished. EmailBison says nothing of a
 * warmup being finished; what sender-sync holds is warmup_enabled, so "ready" is a connected
 * account with warmup_enabled false (or not reported), the state an agency leaves an inbox in
 * once its warmup is done.
 *
 * A workspace's latest day is its newest warmup day within the week before the newest day
 * any workspace has: probes of the day index, never a read of the table's history. A
 * workspace whose warmup rows are older than that shows no score.
 */

/** Worst accounts shown per workspace (lowest warmup score on its latest day). */
export const WORST_ACCOUNTS = 5;
/** Alerts of a workspace's latest day listed per workspace by `health`; the rest are counted. */
export const HEALTH_ALERTS_LISTED = 20;
/** How far before the newest warmup day a workspace's latest day may be. */
const LATEST_DAY_WINDOW_DAYS = 7;

export interface WorstAccount {
  emailbisonId: number;
  email: string | null;
  score: number;
  disabledForBouncing: boolean;
}

export interface WorkspaceHealth {
  workspace: string;
  connected: number;
  disconnected: number;
  /** Live accounts with warmup_enabled false. */
  warmupDisabled: number;
  /** Accounts whose latest warmup row has warmup_disabled_for_bouncing_count above 0. */
  disabledForBouncing: number;
  capacity: {
    /** daily_limit summed over connected accounts with warmup off or finished (warmup_enabled not true). */
    ready: number;
    /** daily_limit summed over every connected account. */
    connected: number;
  };
  /** The workspace's latest day with warmup rows (YYYY-MM-DD), null when none in the window. */
  warmupDay: string | null;
  medianScore: number | null;
  worst: WorstAccount[];
  /** Alerts of warmupDay against each account's previous row (what the digest named), at most HEALTH_ALERTS_LISTED. */
  alerts: WarmupAlert[];
  alertsNotListed: number;
}

export interface HealthReport {
  thresholds: WarmupThresholds;
  workspaces: WorkspaceHealth[];
  totals: {
    workspaces: number;
    connected: number;
    disconnected: number;
    warmupDisabled: number;
    disabledForBouncing: number;
    capacity: { ready: number; connected: number };
  };
}

/**
 * The latest warmup day of each of the workspaces, within the window: per workspace one probe
 * of the day index (day, workspace_id) for each day of the window, newest first, so the cost
 * is the number of workspaces, not of rows.
 */
async function latestDays(sql: Sql, workspaceIds: number[]): Promise<{ workspace_id: number; day: string }[]> {
  return sql<{ workspace_id: number; day: string }[]>`
    select w.id as workspace_id, latest.day::text as day
    from unnest(${workspaceIds}::int[]) w(id)
    cross join (select max(day) as day from sender_email_warmup_daily) newest
    cross join lateral (
      select g.day::date as day
      from generate_series(newest.day, newest.day - ${LATEST_DAY_WINDOW_DAYS}::int, interval '-1 day') g(day)
      where exists (select 1 from sender_email_warmup_daily d where d.day = g.day::date and d.workspace_id = w.id)
      order by g.day desc
      limit 1
    ) latest
  `;
}

/** The rows of each workspace's latest day. */
function latestRows(sql: Sql, latest: { workspace_id: number; day: string }[]): WarmupRows {
  return sql`
    select d.*
    from unnest(${latest.map((l) => l.workspace_id)}::int[], ${latest.map((l) => l.day)}::date[]) l(workspace_id, day)
    join sender_email_warmup_daily d on d.day = l.day and d.workspace_id = l.workspace_id
  `;
}

/** The health of the given workspaces (registry rows), in their order. Read-only. */
export async function readHealth(
  sql: Sql,
  workspaces: { id: number; name: string }[],
  thresholds: WarmupThresholds,
): Promise<HealthReport> {
  const ids = workspaces.map((w) => w.id);
  const latest = await latestDays(sql, ids);
  const accounts = await sql<
    {
      workspace_id: number;
      connected: number;
      disconnected: number;
      warmup_disabled: number;
      capacity_ready: string;
      capacity_connected: string;
    }[]
  >`
    select se.workspace_id,
      count(*) filter (where lower(se.status) = 'connected')::int as connected,
      count(*) filter (where lower(se.status) is distinct from 'connected')::int as disconnected,
      count(*) filter (where se.warmup_enabled = false)::int as warmup_disabled,
      coalesce(sum(se.daily_limit) filter (where lower(se.status) = 'connected' and se.warmup_enabled is not true), 0)::bigint
        as capacity_ready,
      coalesce(sum(se.daily_limit) filter (where lower(se.status) = 'connected'), 0)::bigint as capacity_connected
    from sender_emails se
    where se.deleted_at is null and se.workspace_id = any(${ids}::int[])
    group by se.workspace_id
  `;
  const scores = await sql<{ workspace_id: number; day: string; median: number | null; disabled_for_bouncing: number }[]>`
    select d.workspace_id, d.day::text as day,
      (percentile_cont(0.5) within group (order by d.warmup_score))::float8 as median,
      count(*) filter (where d.warmup_disabled_for_bouncing_count > 0)::int as disabled_for_bouncing
    from (${latestRows(sql, latest)}) d
    group by d.workspace_id, d.day
  `;
  const worst = await sql<
    { workspace_id: number; emailbison_id: string; email: string | null; score: number; disabled_for_bouncing: boolean }[]
  >`
    select r.workspace_id, r.emailbison_id, se.email, r.score, r.disabled_for_bouncing
    from (
      select d.workspace_id, d.emailbison_id, d.warmup_score::float8 as score,
        coalesce(d.warmup_disabled_for_bouncing_count, 0) > 0 as disabled_for_bouncing,
        row_number() over (partition by d.workspace_id order by d.warmup_score, d.emailbison_id) as rank
      from (${latestRows(sql, latest)}) d
      where d.warmup_score is not null
    ) r
    left join sender_emails se on se.workspace_id = r.workspace_id and se.emailbison_id = r.emailbison_id
    where r.rank <= ${WORST_ACCOUNTS}
    order by r.workspace_id, r.rank
  `;
  const alerts = await warmupAlerts(sql, latestRows(sql, latest), thresholds, HEALTH_ALERTS_LISTED);

  const countsOf = new Map(accounts.map((a) => [a.workspace_id, a]));
  const scoreOf = new Map(scores.map((s) => [s.workspace_id, s]));
  const alertsOf = new Map(alerts.map((a) => [a.workspaceId, a]));
  const worstOf = new Map<number, (typeof worst)[number][]>();
  for (const row of worst) worstOf.set(row.workspace_id, [...(worstOf.get(row.workspace_id) ?? []), row]);
  const rows = workspaces.map((w): WorkspaceHealth => {
    const counts = countsOf.get(w.id);
    const score = scoreOf.get(w.id);
    const alerted = alertsOf.get(w.id);
    return {
      workspace: w.name,
      connected: counts?.connected ?? 0,
      disconnected: counts?.disconnected ?? 0,
      warmupDisabled: counts?.warmup_disabled ?? 0,
      disabledForBouncing: score?.disabled_for_bouncing ?? 0,
      capacity: { ready: Number(counts?.capacity_ready ?? 0), connected: Number(counts?.capacity_connected ?? 0) },
      warmupDay: score?.day ?? null,
      medianScore: score?.median ?? null,
      worst: (worstOf.get(w.id) ?? []).map((r) => ({
        emailbisonId: Number(r.emailbison_id),
        email: r.email,
        score: r.score,
        disabledForBouncing: r.disabled_for_bouncing,
      })),
      alerts: alerted?.alerts ?? [],
      alertsNotListed: alerted?.notListed ?? 0,
    };
  });
  const sum = (pick: (w: WorkspaceHealth) => number) => rows.reduce((total, w) => total + pick(w), 0);
  return {
    thresholds,
    workspaces: rows,
    totals: {
      workspaces: rows.length,
      connected: sum((w) => w.connected),
      disconnected: sum((w) => w.disconnected),
      warmupDisabled: sum((w) => w.warmupDisabled),
      disabledForBouncing: sum((w) => w.disabledForBouncing),
      capacity: { ready: sum((w) => w.capacity.ready), connected: sum((w) => w.capacity.connected) },
    },
  };
}
