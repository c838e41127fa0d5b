import type { Sql } from '../db/client';
import { WorkspaceNotFoundError } from '../errors';
import { DEAD_LOCAL_RUN_REASON, LOCAL_EXECUTION_ARN_PATTERN, LOCAL_RUN_DEAD_AFTER_SECONDS } from './local-runs';
import type { PlannedWorkspace, WorkspaceRef } from '../workspaces/ref';

export type StartJobResult =
  | { status: 'started'; jobId: string; workspaces: PlannedWorkspace[] }
  | { status: 'already_running'; runningJobId: string; runningForSeconds: number };

export interface StartJobOptions {
  jobName: string;
  workspaceNames?: string[];
  executionArn?: string;
  triggerSource?: string;
  runTimeoutMinutes: number;
}

/**
 * Takes the single-flight lock (at most one `running` row per job name, which the
 * database enforces), fails a stale `running` row left by a run that died, and
 * creates the job and its per-workspace rows. Returns ids and names only: keys never
 * travel through the state machine. Replaying it for the same execution returns the
 * job it already created.
 */
export async function startJob(sql: Sql, options: StartJobOptions): Promise<StartJobResult> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`start-job:${options.jobName}`}))`;

    if (options.executionArn) {
      const [mine] = await tx<{ id: string; status: string }[]>`
        select id, status from polling_job_status where execution_arn = ${options.executionArn}
      `;
      if (mine) {
        const ids = (await tx<{ id: number }[]>`select workspace_id as id from polling_job_workspaces where job_id = ${mine.id}`).map(
          (w) => w.id,
        );
        return { status: 'started', jobId: mine.id, workspaces: await largestFirst(tx as unknown as Sql, ids, mine.id) };
      }
    }

    // A local run's job whose run holds no live lease (killed, its heartbeat stopped) is a dead run's, however young.
    const [running] = await tx<{ id: string; age_seconds: number; dead_local_run: boolean }[]>`
      select id, extract(epoch from now() - started_at)::int as age_seconds,
        execution_arn like ${LOCAL_EXECUTION_ARN_PATTERN} and not exists (
          select 1 from local_run_lease l
          where l.execution_arn = j.execution_arn and l.heartbeat_at > now() - make_interval(secs => ${LOCAL_RUN_DEAD_AFTER_SECONDS})
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

    const workspaces = await selectWorkspaces(tx as unknown as Sql, options.workspaceNames);
    const [job] = await tx<{ id: string }[]>`
      insert into polling_job_status (job_name, total_workspaces, execution_arn, trigger_source)
      values (${options.jobName}, ${workspaces.length}, ${options.executionArn ?? null}, ${options.triggerSource ?? 'manual'})
      returning id
    `;
    if (workspaces.length > 0) {
      await tx`
        insert into polling_job_workspaces (job_id, workspace_id, workspace_name)
        select ${job.id}, id, name from unnest(${workspaces.map((w) => w.id)}::int[], ${workspaces.map((w) => w.name)}::text[]) as t(id, name)
      `;
    }
    return { status: 'started', jobId: job.id, workspaces };
  });
}

async function selectWorkspaces(sql: Sql, names: string[] | undefined): Promise<PlannedWorkspace[]> {
  if (!names) {
    const active = await sql<{ id: number }[]>`select id from workspaces where active`;
    return largestFirst(
      sql,
      active.map((w) => w.id),
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
  return largestFirst(
    sql,
    found.map((w) => w.id),
  );
}

/**
 * The workspaces in the order the Map should start them: largest first, by the accounts
 * each had at its last successful sync (never synced: first, as it may be large), then
 * by name. Of three at a time, the last to finish is then a small one, not the largest
 * starting late: the run ends closer to its total work divided by the concurrency.
 * The same counts are what a progress display expects this run to read.
 */
async function largestFirst(sql: Sql, ids: number[], excludeJobId?: string): Promise<PlannedWorkspace[]> {
  return sql<PlannedWorkspace[]>`
    select w.id, w.name, last_sync.accounts_synced as "lastAccountsSynced"
    from workspaces w
    left join lateral (
      select p.accounts_synced from polling_job_workspaces p
      where p.workspace_id = w.id and p.status = 'synced' and p.job_id is distinct from ${excludeJobId ?? null}::uuid
      order by p.created_at desc
      limit 1
    ) last_sync on true
    where w.id = any(${ids}::int[])
    order by last_sync.accounts_synced desc nulls first, w.name
  `;
}

function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}
