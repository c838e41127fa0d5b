import { Pool, type Dispatcher } from 'undici';
import { createSql, type Sql } from '../../lambdas/db/client';
import { finalizeJob } from '../../lambdas/jobs/finalize-job';
import type { JobRecord } from '../../lambdas/jobs/read-job';
import { startJob } from '../../lambdas/jobs/start-job';
import type { TaskDeps } from '../../lambdas/runtime/deps';
import { syncUntilDone } from './world';

/**
 * The job run as the Map runs it on AWS: `concurrency` workspaces at a time, each iteration
 * with its own database client and its own task (so its own EmailBison client and host
 * budget), looping on its cursor; a failure recorded as the state machine's Catch does.
 */
export async function runJobAsMap(
  deps: TaskDeps,
  options: { databaseUrl: string; workspaces?: string[]; concurrency?: number },
): Promise<JobRecord> {
  const started = await startJob(deps.sql, {
    jobName: deps.config.jobName,
    workspaceNames: options.workspaces,
    runTimeoutMinutes: deps.config.runTimeoutMinutes,
  });
  if (started.status !== 'started') throw new Error(`job not started: ${started.status}`);
  const queue = [...started.workspaces];
  const lambdas: Sql[] = [];
  const iteration = async () => {
    const sql = createSql({ url: options.databaseUrl, ssl: 'disable', max: 2 });
    lambdas.push(sql);
    const lambdaDeps = { ...deps, sql };
    for (let workspace = queue.shift(); workspace; workspace = queue.shift()) {
      await syncUntilDone(lambdaDeps, started.jobId, workspace);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 3 }, iteration));
  } finally {
    await Promise.all(lambdas.map((sql) => sql.end({ timeout: 1 })));
  }
  return finalizeJob(deps.sql, started.jobId);
}

/** A transport that counts the requests each key sent (the simulator logs none when it refuses connections). */
export function countingDispatcher(origin: string): { dispatcher: Dispatcher; requestsByKey: Map<string, number>; close(): Promise<void> } {
  const pool = new Pool(origin, { connect: { timeout: 2_000 } });
  const requestsByKey = new Map<string, number>();
  const dispatcher = {
    request(options: Dispatcher.RequestOptions) {
      const authorization = String((options.headers as Record<string, string>)?.authorization ?? '');
      const key = authorization.replace(/^Bearer /, '');
      requestsByKey.set(key, (requestsByKey.get(key) ?? 0) + 1);
      return pool.request(options);
    },
  } as unknown as Dispatcher;
  return { dispatcher, requestsByKey, close: () => pool.destroy() };
}
