import { randomUUID } from 'node:crypto';
import type { Sql } from '../lambdas/db/client';
import { failRunningJob } from '../lambdas/jobs/finalize-job';
import { DEAD_LOCAL_RUN_REASON, LOCAL_RUN_DEAD_AFTER_SECONDS } from '../lambdas/jobs/local-runs';
import { LOCAL_EXECUTION_ARN_PREFIX } from '../state-machine/asl';
import { isAlive, isOnThisMachine, thisProcess, type ProcessIdentity } from './process-identity';

/**
 * The local run's lock, taken before it touches anything: the registry's rows, the local
 * secrets file, the simulator. Start job's lock (one `running` job per name) guards the
 * job row, but a local run changes things before the state machine starts (it registers
 * the simulated workspaces), so a second `npm start` must be refused before any of it.
 *
 * A lease row (local_run_lease, migration 011), taken and released in transactions and
 * kept alive by a heartbeat: nothing lives in a session, so it works through a transaction
 * pooler (Supabase's 6543, PgBouncer), where a session advisory lock's unlock ran on another
 * server connection and the lock stayed held. A lease is a dead run's when its heartbeat is
 * older than `staleAfterMs`, or at once when its holder ran on this machine and its process
 * is gone (`kill -9`): the next run marks that run's job failed and takes the lease over.
 *
 * The job table is checked too: a run started elsewhere (the stack's state machine on the
 * same database) shows as a `running` row younger than the run timeout. A `running` row of a
 * local execution while no other local run holds the lease is a dead local run's.
 */
export type LocalRunLock =
  | { kind: 'taken'; tookOver?: DeadRun; release(): Promise<void> }
  | { kind: 'held'; runningJobId?: string; runningForSeconds?: number };

/** A local run that stopped without finishing, found by the run that takes over. */
export interface DeadRun {
  /** `pid 1234 on host`. */
  holder?: string;
  /** Why it counts as dead: `its process is gone`, `its heartbeat stopped 75 s ago`. */
  why: string;
  /** The jobs marked failed (its own, and any other local run's left `running`). */
  failedJobIds: string[];
}

export const DEAD_RUN_REASON = DEAD_LOCAL_RUN_REASON;
export const HEARTBEAT_MS = 10_000;
/** Six heartbeats missed: a run this silent is dead (Start job reads the same age: lambdas/jobs/local-runs.ts). */
export const STALE_AFTER_MS = LOCAL_RUN_DEAD_AFTER_SECONDS * 1000;

export interface LocalRunLockOptions {
  jobName: string;
  runTimeoutMinutes: number;
  /** The execution this run will start: its job is the one to fail if the run dies. */
  executionArn: string;
  heartbeatMs?: number;
  staleAfterMs?: number;
  /** Another run took the lease over (this one was silent past staleAfterMs): its writes now fail. */
  onLost?: () => void;
}

interface LeaseRow {
  holder: string;
  holder_host: string;
  holder_boot_id: string | null;
  holder_pid: number;
  holder_started: string | null;
  execution_arn: string;
  heartbeat_age_ms: number;
}

/** Thrown inside the transaction to roll it back: the lease is someone else's. */
class Held {
  constructor(readonly lock: Extract<LocalRunLock, { kind: 'held' }>) {}
}

export async function takeLocalRunLock(sql: Sql, options: LocalRunLockOptions): Promise<LocalRunLock> {
  const holder = randomUUID();
  const me = thisProcess();
  const staleAfterMs = options.staleAfterMs ?? STALE_AFTER_MS;
  let tookOver: DeadRun | undefined;
  try {
    tookOver = await sql.begin(async (tx) => {
      const t = tx as unknown as Sql;
      const [inserted] = await t`
        insert into local_run_lease (job_name, holder, holder_host, holder_boot_id, holder_pid, holder_started, execution_arn)
        values (${options.jobName}, ${holder}, ${me.host}, ${me.bootId ?? null}, ${me.pid}, ${me.started ?? null}, ${options.executionArn})
        on conflict (job_name) do nothing
        returning holder
      `;
      let dead: Omit<DeadRun, 'failedJobIds'> | undefined;
      if (!inserted) {
        // Waits for a run taking it at this instant to commit: then it is that run's, alive.
        const [lease] = await t<LeaseRow[]>`
          select holder, holder_host, holder_boot_id, holder_pid, holder_started, execution_arn,
            (extract(epoch from now() - heartbeat_at) * 1000)::float8 as heartbeat_age_ms
          from local_run_lease where job_name = ${options.jobName}
          for update
        `;
        const why = lease ? deadBecause(lease, staleAfterMs) : undefined;
        if (lease && !why) throw new Held(await heldBy(t, lease.execution_arn));
        dead = lease ? { holder: `pid ${lease.holder_pid} on ${lease.holder_host}`, why: why ?? '' } : undefined;
        await t`
          insert into local_run_lease (job_name, holder, holder_host, holder_boot_id, holder_pid, holder_started, execution_arn)
          values (${options.jobName}, ${holder}, ${me.host}, ${me.bootId ?? null}, ${me.pid}, ${me.started ?? null}, ${options.executionArn})
          on conflict (job_name) do update set
            holder = excluded.holder, holder_host = excluded.holder_host, holder_boot_id = excluded.holder_boot_id,
            holder_pid = excluded.holder_pid, holder_started = excluded.holder_started,
            execution_arn = excluded.execution_arn, taken_at = now(), heartbeat_at = now()
        `;
      }
      // A run started elsewhere (the stack's state machine) holds the job: refused, nothing written.
      const [elsewhere] = await t<{ id: string; age_seconds: number }[]>`
        select id, extract(epoch from now() - started_at)::int as age_seconds
        from polling_job_status
        where job_name = ${options.jobName} and status = 'running'
          and started_at > now() - make_interval(mins => ${options.runTimeoutMinutes})
          and (execution_arn is null or execution_arn not like ${`${LOCAL_EXECUTION_ARN_PREFIX}%`})
        order by started_at desc
        limit 1
      `;
      if (elsewhere) throw new Held({ kind: 'held', runningJobId: elsewhere.id, runningForSeconds: elsewhere.age_seconds });
      // This run holds the lease, so no live local run has a job: any local job still `running` is a dead run's.
      const orphans = await t<{ id: string }[]>`
        select id from polling_job_status
        where job_name = ${options.jobName} and status = 'running' and execution_arn like ${`${LOCAL_EXECUTION_ARN_PREFIX}%`}
        order by started_at
      `;
      if (!dead && orphans.length === 0) return undefined;
      return { holder: dead?.holder, why: dead?.why ?? 'it left its job running', failedJobIds: orphans.map((job) => job.id) };
    });
  } catch (error) {
    if (error instanceof Held) return error.lock;
    throw error;
  }
  const release = keepAlive(sql, options, holder);
  try {
    // Each in a transaction of its own (finalizing aggregates the job's workspace rows): the lease is ours meanwhile.
    for (const jobId of tookOver?.failedJobIds ?? []) await failRunningJob(sql, { jobId }, DEAD_RUN_REASON);
  } catch (error) {
    await release();
    throw error;
  }
  return { kind: 'taken', tookOver, release };
}

/** Why a lease's holder is dead, or undefined while it lives. */
function deadBecause(lease: LeaseRow, staleAfterMs: number): string | undefined {
  if (lease.heartbeat_age_ms >= staleAfterMs) return `its heartbeat stopped ${Math.round(lease.heartbeat_age_ms / 1000)} s ago`;
  const holder: ProcessIdentity = {
    host: lease.holder_host,
    bootId: lease.holder_boot_id ?? undefined,
    pid: lease.holder_pid,
    started: lease.holder_started ?? undefined,
  };
  if (isOnThisMachine(holder) && !isAlive(holder)) return 'its process is gone';
  return undefined;
}

async function heldBy(sql: Sql, executionArn: string): Promise<Extract<LocalRunLock, { kind: 'held' }>> {
  const [job] = await sql<{ id: string; age_seconds: number }[]>`
    select id, extract(epoch from now() - started_at)::int as age_seconds
    from polling_job_status where execution_arn = ${executionArn} and status = 'running'
  `;
  return { kind: 'held', runningJobId: job?.id, runningForSeconds: job?.age_seconds };
}

/** Beats until released; returns the release. A beat that finds the lease gone reports it once and stops. */
function keepAlive(sql: Sql, options: LocalRunLockOptions, holder: string): () => Promise<void> {
  let beating: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    beating = sql`
      update local_run_lease set heartbeat_at = now() where job_name = ${options.jobName} and holder = ${holder}
    `.then(
      (result) => {
        if (result.count > 0) return;
        clearInterval(timer);
        options.onLost?.();
      },
      // The database unreachable for a beat: the next beat tries again, and the lease stays ours for staleAfterMs.
      () => {},
    );
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  timer.unref();
  let released: Promise<void> | undefined;
  return () => {
    released ??= (async () => {
      clearInterval(timer);
      await beating;
      const release = () => sql`delete from local_run_lease where job_name = ${options.jobName} and holder = ${holder}`;
      // A pooler or a restart may have closed the connection the pool holds: postgres.js finds out
      // only when it writes, and opens a new one for the next query. Once more, so the lease does
      // not wait out its staleness for the next run.
      await release().catch((error: { code?: string }) => {
        if (error.code === 'CONNECTION_CLOSED' || error.code === 'ECONNRESET') return release();
        throw error;
      });
    })();
    return released;
  };
}

/** One line for the run's output: what was found and done. */
export function describeTakeover(dead: DeadRun): string {
  const jobs = dead.failedJobIds.length === 1 ? `job ${dead.failedJobIds[0]}` : `jobs ${dead.failedJobIds.join(', ')}`;
  const marked = dead.failedJobIds.length > 0 ? `; ${jobs} marked failed ("${DEAD_RUN_REASON}")` : '';
  return `A previous local run${dead.holder ? ` (${dead.holder})` : ''} stopped without finishing (${dead.why})${marked}: this run takes over.`;
}
