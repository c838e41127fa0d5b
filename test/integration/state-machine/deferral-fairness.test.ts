import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambdas/config/load-config';
import { finalizeJob } from '../../../lambdas/jobs/finalize-job';
import { PLAN_HEADROOM, estimatedRequests } from '../../../lambdas/jobs/plan-run';
import { startJob } from '../../../lambdas/jobs/start-job';
import { noMetrics, silentLog, type TaskDeps } from '../../../lambdas/runtime/deps';
import { createTaskHandlers, type TaskHandlers } from '../../../lambdas/tasks';
import { runStateMachineLocally } from '../../../state-machine/local-runner';
import { createTestDatabase } from '../../helpers/database';

/*
 * Issue 22 item 6: 1,000 workspaces on two EmailBison instances (700 and 300), more than an
 * hourly run can read at 3 requests/s. The real definition runs the real Start job and
 * Finalize job on Postgres, run after run; Sync workspace is a stand-in that records the
 * order it is called in and reports each workspace's size as its accounts (the sync itself
 * is covered elsewhere; here the question is which workspaces each run syncs, and when).
 */
const COUNT = 1000;
const ON_A = 700;
const MAX_RPS = 3;
const db = await createTestDatabase();

/** A size from 100 to 1,599 accounts, the same for a workspace every run. */
const sizeOf = (n: number) => 100 + ((n * 37) % 1500);

interface Run {
  jobId: string;
  /** The Map's order, as Start job handed it over. */
  order: number[];
  synced: Set<number>;
  deferred: Set<number>;
}

describe('deferral and fairness at 1,000 workspaces (two instances, 3 req/s each, hourly)', () => {
  it('syncs what fits, defers the rest (partial, named per instance), puts the deferred first next run, and syncs every workspace within K runs', async () => {
    const ids = await db.sql<{ id: number; host: string; n: number }[]>`
      insert into workspaces (name, base_url, api_key_ref, active)
      select 'Workspace ' || lpad(i::text, 4, '0'),
             case when i <= ${ON_A} then 'https://a.emailbison.example' else 'https://b.emailbison.example' end,
             'env:UNUSED_KEY', true
      from generate_series(1, ${COUNT}) as i
      returning id, split_part(base_url, '/', 3) as host, substring(name from 11)::int as n
    `;
    const host = new Map(ids.map((w) => [w.id, w.host]));
    const size = new Map(ids.map((w) => [w.id, sizeOf(w.n)]));
    let order: number[] = [];
    const deps: TaskDeps = {
      sql: db.sql,
      config: loadConfig({ DATABASE_URL: 'postgres://unused', EMAILBISON_MAX_RPS: String(MAX_RPS), SYNC_SCHEDULE: 'rate(1 hour)' }),
      secrets: { resolve: async () => 'unused', resolveJson: async () => ({}) as never, clear() {} },
      log: silentLog,
      metrics: noMetrics,
      now: Date.now,
      onEvent: (event) => {
        if (event.type === 'job-started') order = event.workspaces.map((w) => w.id);
      },
    };
    const handlers: TaskHandlers = {
      ...createTaskHandlers(deps),
      syncWorkspace: async (event) => {
        const { jobId, workspace } = event as { jobId: string; workspace: { id: number } };
        const accounts = size.get(workspace.id)!;
        await db.sql`
          update polling_job_workspaces set status = 'synced', accounts_synced = ${accounts}, finished_at = now()
          where job_id = ${jobId} and workspace_id = ${workspace.id}
        `;
        return { jobId, workspace: { id: workspace.id, name: 'x' }, done: true, cursor: null, accountsSynced: accounts };
      },
    };
    const runOnce = async (): Promise<Run & { largestEventBytes: number }> => {
      const result = await runStateMachineLocally({ input: {}, handlers, instantRetries: true });
      expect(result.status).toBe('SUCCEEDED');
      const [job] = await db.sql<{ id: string }[]>`select id from polling_job_status order by started_at desc limit 1`;
      const rows = await db.sql<{ workspace_id: number; status: string }[]>`
        select workspace_id, status from polling_job_workspaces where job_id = ${job.id}
      `;
      return {
        jobId: job.id,
        order,
        synced: new Set(rows.filter((r) => r.status === 'synced').map((r) => r.workspace_id)),
        deferred: new Set(rows.filter((r) => r.status === 'deferred').map((r) => r.workspace_id)),
        largestEventBytes: Math.max(...result.events.map((e) => Buffer.byteLength(JSON.stringify(e)))),
      };
    };

    // Run 1: nothing is known of the sizes (one page each): everything fits, and the run measures them.
    const first = await runOnce();
    expect(first.synced.size).toBe(COUNT);

    // What each instance needs at 3 req/s, and how many runs of 54 min (60 less the headroom) that takes.
    const budgetRequests = 3600 * PLAN_HEADROOM * MAX_RPS;
    const requests = (h: string) => ids.filter((w) => w.host === h).reduce((n, w) => n + estimatedRequests(size.get(w.id)!), 0);
    const neededMinutes = {
      a: Math.ceil(requests('a.emailbison.example') / MAX_RPS / 60),
      b: Math.ceil(requests('b.emailbison.example') / MAX_RPS / 60),
    };
    // Every workspace within K runs: the runs a full cycle of the busier instance takes, and one more
    // for the workspaces a run could not fit whole.
    const K = Math.ceil(requests('a.emailbison.example') / budgetRequests) + 1;
    expect(K).toBeGreaterThan(2);

    const runs: Run[] = [];
    const syncedSince = new Set<number>();
    let everyWithin: number | undefined;
    for (let i = 0; i < K; i++) {
      const run = await runOnce();
      runs.push(run);
      for (const id of run.synced) syncedSince.add(id);
      if (everyWithin === undefined && syncedSince.size === COUNT) everyWithin = i + 1;
      // Ids only: 1,000 workspaces' largest state payload stays a few KB.
      expect(run.largestEventBytes).toBeLessThan(16 * 1024);
    }
    // Every workspace synced within K runs.
    expect(syncedSince.size).toBe(COUNT);

    // The first capped run: partial, the deferred ones named per instance in two bounded warnings.
    const [second] = runs;
    expect(second.deferred.size).toBeGreaterThan(0);
    expect(second.synced.size + second.deferred.size).toBe(COUNT);
    const [job] = await db.sql<{ status: string; warnings: string[]; workspaces_deferred: number; workspaces_skipped: number }[]>`
      select status, warnings, workspaces_deferred, workspaces_skipped from polling_job_status where id = ${second.jobId}
    `;
    expect(job).toMatchObject({ status: 'partial', workspaces_deferred: second.deferred.size, workspaces_skipped: second.deferred.size });
    expect(job.warnings).toHaveLength(2);
    expect(job.warnings.join('\n')).toContain(
      `this instance (a.emailbison.example) needs ${neededMinutes.a} min at 3 req/s: raise EMAILBISON_MAX_RPS or the interval`,
    );
    expect(job.warnings.join('\n')).toContain(
      `this instance (b.emailbison.example) needs ${neededMinutes.b} min at 3 req/s: raise EMAILBISON_MAX_RPS or the interval`,
    );
    for (const warning of job.warnings) expect(warning.length).toBeLessThan(1000);
    const [row] = await db.sql<{ status: string; error: string }[]>`
      select status, error from polling_job_workspaces where job_id = ${second.jobId} and status = 'deferred' limit 1
    `;
    expect(row.error).toMatch(/^deferred: this instance \([ab]\.emailbison\.example\) needs \d+ min at 3 req\/s/);

    // Each run fits its budget per instance.
    for (const run of runs) {
      for (const h of ['a.emailbison.example', 'b.emailbison.example']) {
        const planned = [...run.synced].filter((id) => host.get(id) === h);
        const cost = planned.reduce((n, id) => n + estimatedRequests(size.get(id)!), 0);
        expect(planned.length === 1 || cost <= budgetRequests, `${h}: ${cost} requests planned`).toBe(true);
      }
    }

    // Deferred ones go first: a workspace synced in run n is synced again in run n+1 only once every
    // workspace of its instance that run n deferred is synced too.
    for (let n = 0; n + 1 < runs.length; n++) {
      const [now, next] = [runs[n], runs[n + 1]];
      for (const h of ['a.emailbison.example', 'b.emailbison.example']) {
        const repeated = [...next.synced].filter((id) => host.get(id) === h && now.synced.has(id));
        const left = [...now.deferred].filter((id) => host.get(id) === h && !next.synced.has(id));
        expect(repeated.length === 0 || left.length === 0, `run ${n + 3}, ${h}: synced again before the deferred`).toBe(true);
      }
    }

    // Interleaved by instance: while both have workspaces left, the Map alternates them.
    for (const run of runs) {
      const hosts = run.order.map((id) => host.get(id));
      const fromB = hosts.filter((h) => h === 'b.emailbison.example').length;
      const fromA = hosts.length - fromB;
      const both = Math.min(fromA, fromB);
      for (let i = 0; i + 1 < 2 * both; i++) expect(hosts[i], `position ${i}`).not.toBe(hosts[i + 1]);
    }
    console.log(
      `deferral at ${COUNT} workspaces (700 + 300 on two instances, ${MAX_RPS} req/s, hourly): instance a needs ${neededMinutes.a} min, b ${neededMinutes.b} min; ` +
        `runs synced ${runs.map((r) => r.synced.size).join(', ')}; every workspace synced within ${everyWithin} runs (bound K = ${K})`,
    );
  }, 240_000);

  it('replays Start job for the same execution with the same workspaces, the deferred ones left deferred', async () => {
    const options = {
      jobName: 'replay-check',
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:sync:replay',
      runTimeoutMinutes: 120,
      limits: { maxRps: 0.05, budgetSeconds: 3600 },
    };
    const first = await startJob(db.sql, options);
    const again = await startJob(db.sql, options);
    if (first.status !== 'started' || again.status !== 'started') throw new Error('not started');
    expect(again.jobId).toBe(first.jobId);
    expect(again.workspaces.map((w) => w.id)).toEqual(first.workspaces.map((w) => w.id));
    const deferred = first.shortfalls.reduce((n, s) => n + s.deferred.length, 0);
    expect(deferred).toBeGreaterThan(0);
    const [{ n }] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from polling_job_workspaces where job_id = ${first.jobId} and status = 'deferred'
    `;
    expect(n).toBe(deferred);
    expect((await finalizeJob(db.sql, first.jobId)).workspacesDeferred).toBe(deferred);
  });
});
