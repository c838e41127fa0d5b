import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cli, startCli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { alive, freshEmbeddedDir } from '../../helpers/embedded-dir';

/*
 * A local run killed with `kill -9`: nothing of it runs its clean-up. The next run (the
 * built CLI, as `npm start` runs it) must complete at once, fail the dead run's job with
 * the reason, and deal with the embedded Postgres the dead run left running.
 */
const DEAD_RUN_REASON = 'the local run stopped without finishing';

function untilOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (pattern.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

/** The run killed mid-sync: a workspace synced, others in flight (150 ms a request). */
async function killedMidRun(env: Record<string, string>): Promise<{ pid: number }> {
  const { child, result } = startCli(['run', '--latency-ms', '150', '--sim-port', '0'], env);
  await untilOutput(child, /: synced [\d,]+ accounts?/);
  child.kill('SIGKILL');
  await result;
  return { pid: child.pid! };
}

interface JobJson {
  id: string;
  status: string;
  error_message: string | null;
}

describe('a local run killed with kill -9', () => {
  it('on the embedded Postgres: the next run reuses the server it left, fails its job with the reason, completes and stops the server', async () => {
    const state = freshEmbeddedDir('ss-dead-run-');
    const dead = await killedMidRun(state.env);
    const orphan = state.serverPid();
    expect(orphan).toBeDefined();
    expect(alive(orphan!)).toBe(true); // the server outlived the run that started it
    const killedAt = Date.now();

    const next = await cli(['run', '--sim-port', '0', '--json'], state.env);
    const tookMs = Date.now() - killedAt;
    expect(next.code, next.stderr).toBe(0);
    expect(tookMs).toBeLessThan(90_000);
    expect(JSON.parse(next.stdout).status).toBe('completed');
    // Each said in one line.
    expect(next.stderr).toMatch(
      new RegExp(
        `^The embedded Postgres a previous run left running \\(pid ${orphan}, port \\d+\\) is reused: it stops when this command ends\\.$`,
        'm',
      ),
    );
    const takeover = next.stderr.split('\n').find((line) => line.startsWith('A previous local run'));
    expect(takeover).toMatch(
      new RegExp(
        `^A previous local run \\(pid ${dead.pid} on .+\\) stopped without finishing \\(its process is gone\\); job ([0-9a-f-]{36}) marked failed \\("${DEAD_RUN_REASON}"\\): this run takes over\\.$`,
      ),
    );
    const deadJobId = /job ([0-9a-f-]{36})/.exec(takeover!)![1];
    // The run that reused the server stopped it: nothing left running.
    expect(alive(orphan!)).toBe(false);
    expect(state.serverPid()).toBeUndefined();

    const jobs = await cli(['jobs', '--json'], state.env);
    const listed = (JSON.parse(jobs.stdout) as { jobs: JobJson[] }).jobs;
    expect(listed.find((job) => job.id === deadJobId)).toMatchObject({ status: 'failed', error_message: DEAD_RUN_REASON });
    expect(listed.filter((job) => job.status === 'running')).toEqual([]);
    expect(listed[0]).toMatchObject({ status: 'completed' });
    expect(state.serverPid()).toBeUndefined(); // `jobs` started it to read, and stopped it
  }, 240_000);

  it('on DATABASE_URL: the next run completes at once and the dead run job reads failed, with the reason', async () => {
    const db = await createTestDatabase();
    const state = freshEmbeddedDir('ss-dead-run-url-');
    const env = { ...state.env, DATABASE_URL: db.url };
    await killedMidRun(env);
    const [deadJob] = await db.sql<{ id: string }[]>`select id from polling_job_status where status = 'running'`;
    expect(deadJob).toBeDefined();

    const next = await cli(['run', '--sim-port', '0'], env);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stderr).toContain(`job ${deadJob.id} marked failed ("${DEAD_RUN_REASON}"): this run takes over.`);
    expect(await db.sql`select status, error_message from polling_job_status where id = ${deadJob.id}`).toEqual([
      { status: 'failed', error_message: DEAD_RUN_REASON },
    ]);
    expect(await db.sql`select status from polling_job_status where id <> ${deadJob.id}`).toEqual([{ status: 'completed' }]);
    expect(await db.sql`select count(*)::int as n from local_run_lease`).toEqual([{ n: 0 }]);
    expect(state.serverPid()).toBeUndefined(); // no embedded server with DATABASE_URL set
  }, 240_000);
});
