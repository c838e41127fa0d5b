import type { Sql } from '../db/client';
import { instanceHost } from '../emailbison/host-budget';
import { WorkspaceNotFoundError } from '../errors';
import { DEAD_LOCAL_RUN_REASON, LOCAL_EXECUTION_ARN_PATTERN, LOCAL_RUN_DEAD_AFTER_SECONDS } from './local-runs';
import type { PlannedWorkspace, WorkspaceRef } from '../workspaces/ref';
import type { RunMode } from './execution-input';
import { byLastSync, type InstanceShortfall, interleaveByHost, type PlanCandidate, type PlanLimits, planRun } from './plan-run';

export type StartJobResult =
  | { status: 'started'; jobId: string; workspaces: PlannedWorkspace[]; shortfalls: InstanceShortfall[] }
  | { status: 'already_running'; runningJobId: string; runningForSeconds: number };

export interface StartJobOptions {
  /** The account sync's job name; a warmup pass records its job under `warmupJobName(jobName)`. */
  jobName: string;
  /** `sync` (default) or `warmup`, with `warmupDay` (YYYY-MM-DD) the day it reads. */
  mode?: RunMode;
  warmupDay?: string;
  workspaceNames?: string[];
  executionArn?: string;
  triggerSource?: string;
  runTimeoutMinutes: number;
  /**
   * The request cap and the time a run may take: workspaces that do not fit are deferred
   * (plan-run.ts). Not for a run of named workspaces: it syncs what was asked. Absent: no cap.
   */
  limits?: PlanLimits;
}

/**
 * Takes the single-flight lock (at most one `running` row per job name, which the
 * database enforces), fails a stale `running` row left by a run that died, and
 * creates the job and its per-workspace rows: `pending` for the workspaces the run syncs,
 * in the Map's order (plan-run.ts), `deferred` (with the reason) for those its instance's
 * cap leaves to the next run. Returns ids and names only: keys never travel through the
 * state machine. Replaying it for the same execution returns the job it already created.
 */
export async function startJob(sql: Sql, startOptions: StartJobOptions): Promise<StartJobResult> {
  const mode = startOptions.mode ?? 'sync';
  // One job name per pass: the single-flight lock and "last sync" are per job name, so a warmup pass never blocks the hourly sync.
  const options = { ...startOptions, jobName: mode === 'warmup' ? warmupJobName(startOptions.jobName) : startOptions.jobName };
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`start-job:${options.jobName}`}))`;

    if (options.executionArn) {
      const [mine] = await tx<{ id: string; status: string }[]>`
        select id, status from polling_job_status where execution_arn = ${options.executionArn}
      `;
      if (mine) {
        const ids = (
          await tx<{ id: number }[]>`
            select workspace_id as id from polling_job_workspaces where job_id = ${mine.id} and status <> 'deferred'
          `
        ).map((w) => w.id);
        const again = interleaveByHost((await candidatesOf(tx as unknown as Sql, ids, mode, mine.id)).sort(byLastSync));
        return { status: 'started', jobId: mine.id, workspaces: again.map(planned), shortfalls: [] };
      }
    }

    // A local run's job whose run holds no live lease is a dead run's: its lease went silent
    // (killed, however young the job), or it has none and started over a minute ago. A young
    // job with no lease row at all is an in-process execution that takes none (the test
    // harness, the bench): two of those at once must meet the lock, not fail each other.
    const [running] = await tx<{ id: string; age_seconds: number; dead_local_run: boolean }[]>`
      select id, extract(epoch from now() - started_at)::int as age_seconds,
        execution_arn like ${LOCAL_EXECUTION_ARN_PATTERN} and not exists (
          select 1 from local_run_lease l
          where l.execution_arn = j.execution_arn and l.heartbeat_at > now() - make_interval(secs => ${LOCAL_RUN_DEAD_AFTER_SECONDS})
        ) and (
          exists (select 1 from local_run_lease l where l.execution_arn = j.execution_arn)
          or started_at < now() - make_interval(secs => ${LOCAL_RUN_DEAD_AFTER_SECONDS})
        ) as dead_local_run
      from polling_job_status j
      where job_name = ${options.jobName} and status = 'running'
    `;
    if (running?.dead_local_run) {
      await tx`
        update polling_job_status
        set status = 'failed',
            completed_at = now(),
            duration_ms = (extract(epoch from now() - started_at) * 1000)::int,
            error_message = ${DEAD_LOCAL_RUN_REASON}
        where id = ${running.id}
      `;
    } else if (running) {
      if (running.age_seconds < options.runTimeoutMinutes * 60) {
        return { status: 'already_running', runningJobId: running.id, runningForSeconds: running.age_seconds };
      }
      await tx`
        update polling_job_status
        set status = 'failed',
            completed_at = now(),
            duration_ms = (extract(epoch from now() - started_at) * 1000)::int,
            error_message = ${`Marked failed by a later run: it was still running after ${Math.round(running.age_seconds / 60)} min, longer than the run timeout of ${options.runTimeoutMinutes} min (its execution died without recording a result).`}
        where id = ${running.id}
      `;
    }

    const candidates = await selectWorkspaces(tx as unknown as Sql, options.workspaceNames, mode);
    const plan =
      options.workspaceNames || !options.limits
        ? { sync: interleaveByHost(candidates.sort(byLastSync)), shortfalls: [] }
        : planRun(candidates, options.limits);
    const [job] = await tx<{ id: string }[]>`
      insert into polling_job_status (job_name, total_workspaces, execution_arn, trigger_source, run_mode, warmup_day)
      values (${options.jobName}, ${candidates.length}, ${options.executionArn ?? null}, ${options.triggerSource ?? 'manual'},
              ${mode}, ${mode === 'warmup' ? (options.warmupDay ?? null) : null}::date)
      returning id
    `;
    const rows = [
      ...plan.sync.map((w) => ({ id: w.id, name: w.name, status: 'pending', reason: null })),
      ...plan.shortfalls.flatMap((s) => s.deferred.map((w) => ({ id: w.id, name: w.name, status: 'deferred', reason: s.reason }))),
    ];
    if (rows.length > 0) {
      await tx`
        insert into polling_job_workspaces (job_id, workspace_id, workspace_name, status, error, finished_at)
        select ${job.id}, id, name, status, 'deferred: ' || reason, case when status = 'deferred' then now() end
        from unnest(${rows.map((w) => w.id)}::int[], ${rows.map((w) => w.name)}::text[], ${rows.map((w) => w.status)}::text[],
                    ${rows.map((w) => w.reason)}::text[]) as t(id, name, status, reason)
      `;
    }
    return { status: 'started', jobId: job.id, workspaces: plan.sync.map(planned), shortfalls: plan.shortfalls };
  });
}

async function selectWorkspaces(sql: Sql, names: string[] | undefined, mode: RunMode): Promise<PlanCandidate[]> {
  if (!names) {
    const active = await sql<{ id: number }[]>`select id from workspaces where active`;
    return candidatesOf(
      sql,
      active.map((w) => w.id),
      mode,
    );
  }
  const found = await sql<(WorkspaceRef & { active: boolean })[]>`
    select id, name, active from workspaces where name = any(${names}::text[]) order by name
  `;
  const known = new Map(found.map((w) => [w.name, w]));
  const unknown = names.filter((name) => !known.has(name));
  const inactive = found.filter((w) => !w.active).map((w) => w.name);
  const problems: string[] = [];
  if (unknown.length > 0) problems.push(`unknown workspace${unknown.length > 1 ? 's' : ''} ${unknown.map(quote).join(', ')}`);
  if (inactive.length > 0) problems.push(`inactive workspace${inactive.length > 1 ? 's' : ''} ${inactive.map(quote).join(', ')}`);
  if (problems.length > 0) {
    throw new WorkspaceNotFoundError(
      `Cannot start the run: ${problems.join('; ')}. Nothing was started; \`sender-sync workspaces list\` shows the registered names.`,
    );
  }
  return candidatesOf(
    sql,
    found.map((w) => w.id),
    mode,
  );
}

/**
 * What the plan weighs for each workspace: its instance, when it last synced and with how
 * many accounts (the latest synced row of another job: polling_job_workspaces_workspace_idx
 * walks each workspace's rows newest first), and for one never synced the live accounts
 * stored for it (e.g. by a cut-over).
 */
async function candidatesOf(sql: Sql, ids: number[], mode: RunMode, excludeJobId?: string): Promise<PlanCandidate[]> {
  const rows = await sql<
    { id: number; name: string; base_url: string; last_synced_at: Date | null; accounts_synced: number | null; stored: number }[]
  >`
    select w.id, w.name, w.base_url, last_sync.created_at as last_synced_at, last_sync.accounts_synced,
      -- Counted only for a workspace never synced: the others have their last sync's count.
      case when last_sync.created_at is null
        then (select count(*)::int from sender_emails s where s.workspace_id = w.id and s.deleted_at is null)
        else 0 end as stored
    from workspaces w
    left join lateral (
      -- The same pass's last: a warmup pass does not make a workspace's accounts look freshly synced.
      select p.created_at, p.accounts_synced from polling_job_workspaces p join polling_job_status j on j.id = p.job_id
      where p.workspace_id = w.id and p.status = 'synced' and p.job_id is distinct from ${excludeJobId ?? null}::uuid
        and j.run_mode = ${mode}
      order by p.created_at desc
      limit 1
    ) last_sync on true
    where w.id = any(${ids}::int[])
  `;
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    host: hostOf(r.base_url),
    lastSyncedAt: r.last_synced_at,
    lastAccountsSynced: r.accounts_synced,
    storedAccounts: r.stored,
  }));
}

/** The warmup pass's job_name: the account sync's with `-warmup`, so each has its own lock and history. */
export function warmupJobName(jobName: string): string {
  return `${jobName}-warmup`;
}

function hostOf(baseUrl: string): string {
  try {
    return instanceHost(baseUrl);
  } catch {
    // The registry checks base URLs (^https?://); one that still does not parse is its own instance.
    return baseUrl;
  }
}

/** A workspace as the Map and a progress display know it: the accounts its last sync found. */
function planned(c: PlanCandidate): PlannedWorkspace {
  return { id: c.id, name: c.name, lastAccountsSynced: c.lastAccountsSynced };
}

function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}
