import { createSql } from '../lambdas/db/client';
import { closeSharedDispatchers, type WalkCursor } from '../lambdas/emailbison/client';
import { createFinalizeJobTask } from '../lambdas/finalize-job/task';
import { createStartJobTask } from '../lambdas/start-job/task';
import { createSyncWorkspaceTask } from '../lambdas/sync-workspace/task';
import { CONFIG, pipelineDeps } from './deps';

/*
 * One sync in a process of its own, so its peak RSS is the sync's alone: what a
 * Lambda container holds. The tasks run as the state machine drives them (start job,
 * Sync workspace looped on its cursor while `done` is false, finalize job), without
 * the local state-machine runner, whose CDK synthesis a Lambda never loads.
 * Run bundled (memory.ts), with --expose-gc for the live heap at the end.
 * env: BENCH_DATABASE_URL, BENCH_SECRETS_FILE. Prints one JSON line.
 */
const sql = createSql({ url: process.env.BENCH_DATABASE_URL!, ssl: 'disable', max: CONFIG.databasePoolMax });
const deps = pipelineDeps(sql, process.env.BENCH_SECRETS_FILE!);
let sampledPeak = process.memoryUsage().rss;
const sampler = setInterval(() => {
  sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
}, 10);

try {
  const rssBeforeSync = process.memoryUsage().rss;
  const started = performance.now();
  const job = await createStartJobTask(deps)({ input: {} });
  if (job.status !== 'started') throw new Error(`job not started: ${job.status}`);
  const sync = createSyncWorkspaceTask(deps);
  let invocations = 0;
  for (const id of job.workspaceIds) {
    let cursor: WalkCursor | null = null;
    do {
      invocations += 1;
      const result = await sync({ jobId: job.jobId, workspace: { id }, cursor });
      cursor = result.done ? null : result.cursor;
    } while (cursor !== null);
  }
  const summary = await createFinalizeJobTask(deps)({ jobId: job.jobId });
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  const peakRssBytes = Math.max(process.resourceUsage().maxRSS * 1024, sampledPeak);
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfterGcBytes = process.memoryUsage().heapUsed;
  console.log(
    JSON.stringify({
      accounts: summary.totalAccountsSynced,
      status: summary.status,
      invocations,
      wallMs,
      rssBeforeSync,
      peakRssBytes,
      heapAfterGcBytes,
    }),
  );
} finally {
  clearInterval(sampler);
  await sql.end({ timeout: 5 });
  await closeSharedDispatchers();
}
