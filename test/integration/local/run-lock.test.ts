import { describe, expect, it } from 'vitest';
import { takeLocalRunLock } from '../../../local/run-lock';
import { createTestDatabase } from '../../helpers/database';

const db = await createTestDatabase();
const options = { jobName: 'sender-emails-sync', runTimeoutMinutes: 60 };

describe('the local run lock', () => {
  it('is taken once: a second taker is refused until the first releases it', async () => {
    const first = await takeLocalRunLock(db.sql, options);
    expect(first.kind).toBe('taken');
    expect(await takeLocalRunLock(db.sql, options)).toEqual({ kind: 'held', runningJobId: undefined, runningForSeconds: undefined });
    if (first.kind === 'taken') await first.release();
    const again = await takeLocalRunLock(db.sql, options);
    expect(again.kind).toBe('taken');
    if (again.kind === 'taken') await again.release();
  });

  it('is refused while a run started elsewhere (a running job younger than the run timeout) holds the job, naming it', async () => {
    const [job] = await db.sql<{ id: string }[]>`
      insert into polling_job_status (job_name, started_at) values (${options.jobName}, now() - interval '5 minutes') returning id`;
    const held = await takeLocalRunLock(db.sql, options);
    expect(held).toMatchObject({ kind: 'held', runningJobId: job.id });
    expect(held.kind === 'held' && held.runningForSeconds).toBeGreaterThanOrEqual(300);
    // A running row older than the timeout is a dead run's, which Start job marks failed: no obstacle.
    await db.sql`update polling_job_status set started_at = now() - interval '61 minutes' where id = ${job.id}`;
    const lock = await takeLocalRunLock(db.sql, options);
    expect(lock.kind).toBe('taken');
    if (lock.kind === 'taken') await lock.release();
    // Released for good: the pool's connections hold no advisory lock.
    expect(
      await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`,
    ).toEqual([{ n: 0 }]);
  });
});
