import type { Sql } from '../lambdas/db/client';

/**
 * The local run's lock, taken before it touches anything: the registry's rows, the local
 * secrets file, the simulator. Start job's lock (one `running` job per name) guards the
 * job row, but a local run changes things before the state machine starts (it registers
 * the simulated workspaces, pointing them at its own simulator, and stops that simulator
 * when it ends): a second `npm start` must be refused before any of it.
 *
 * Two checks: a session advisory lock, held on a connection of its own for the whole run,
 * which a second local run cannot take; and the job table, where a run started elsewhere
 * (the stack's state machine on the same database) shows as a `running` row younger than
 * the run timeout (an older one is a dead run's, which Start job marks failed).
 */
export type LocalRunLock =
  | { kind: 'taken'; release(): Promise<void> }
  | { kind: 'held'; runningJobId?: string; runningForSeconds?: number };

export async function takeLocalRunLock(sql: Sql, options: { jobName: string; runTimeoutMinutes: number }): Promise<LocalRunLock> {
  const connection = await sql.reserve();
  const key = `local-run:${options.jobName}`;
  // A session lock lives as long as its connection: back to the pool only once unlocked.
  const unlockAndRelease = async () => {
    await connection`select pg_advisory_unlock_all()`.catch(() => {});
    connection.release();
  };
  try {
    const [{ taken }] = await connection<{ taken: boolean }[]>`select pg_try_advisory_lock(hashtext(${key})) as taken`;
    const [running] = await connection<{ id: string; age_seconds: number }[]>`
      select id, extract(epoch from now() - started_at)::int as age_seconds
      from polling_job_status
      where job_name = ${options.jobName} and status = 'running'
        and started_at > now() - make_interval(mins => ${options.runTimeoutMinutes})
      order by started_at desc
      limit 1
    `;
    if (taken && !running) return { kind: 'taken', release: unlockAndRelease };
    await unlockAndRelease();
    return { kind: 'held', runningJobId: running?.id, runningForSeconds: running?.age_seconds };
  } catch (error) {
    await unlockAndRelease();
    throw error;
  }
}
