import { describeError, InvalidInputError } from '../errors';
import { finalizeRunningJob } from '../jobs/finalize-job';
import type { JobRecord } from '../jobs/read-job';
import { markWebhookChangesDigested, webhookChangesHighWater } from '../webhooks/publish';
import { DIGEST_ACCOUNTS_LISTED, digestWorthSending, formatDigest, readRunDigest } from '../jobs/run-changes';
import { readWarmupDigest, warmupAlertCount } from '../health/warmup-digest';
import type { TaskDeps } from '../runtime/deps';

export interface FinalizeJobEvent {
  jobId: string;
  executionArn?: string;
}

export function createFinalizeJobTask(deps: TaskDeps) {
  return async (event: FinalizeJobEvent): Promise<JobRecord & { alreadyEnded?: true; note?: string }> => {
    if (!event?.jobId) throw new InvalidInputError('Finalize job needs { jobId }.');
    deps.log.setContext({ jobId: event.jobId });
    const { job: summary, finalized } = await finalizeRunningJob(deps.sql, event.jobId);
    if (!finalized) {
      // A retry after a committed first attempt, or a redriven execution: the job's row stays
      // as it ended, and its run was counted (metrics) when it ended.
      const note =
        `job ${summary.jobId} had already ended (${summary.status}) when Finalize job ran: nothing was written ` +
        '(a retried Finalize job, or a redriven execution). Redrive is not supported: start a new execution.';
      deps.log.warn('job already ended: nothing written', { jobStatus: summary.status, note });
      deps.onEvent?.({ type: 'job-already-ended', jobId: summary.jobId, status: summary.status });
      return { ...summary, alreadyEnded: true, note };
    }
    deps.metrics.runFinished(summary);
    await sendDigest(deps, summary.jobId);
    deps.onEvent?.({ type: 'job-finished', job: summary });
    const line = `job ${summary.status}: ${summary.workspacesSynced}/${summary.totalWorkspaces} workspaces synced, ${summary.totalAccountsSynced} accounts`;
    if (summary.status === 'completed') deps.log.info(line, { durationMs: summary.durationMs });
    else deps.log.warn(line, { warnings: summary.warnings, errorMessage: summary.errorMessage });
    return summary;
  };
}

/**
 * The run's account changes: counted in the metrics, and when any account disconnected or
 * was removed since the previous run, or has a warmup health alert (lambdas/health), one
 * digest to the ChangesTopic. Once per run: only the
 * call that finalized the job gets here. A digest that cannot be sent is logged, not thrown:
 * the job is already recorded, and a retried Finalize job would find it ended and send nothing.
 */
export async function sendDigest(deps: TaskDeps, jobId: string): Promise<void> {
  const webhookHighWater = await webhookChangesHighWater(deps.sql);
  const thresholds = { dropPoints: deps.config.warmupScoreDropPoints, floor: deps.config.warmupScoreFloor };
  // A warmup pass's digest names the warmup alerts of the rows it wrote; an account sync writes none.
  const digest = {
    ...(await readRunDigest(deps.sql, jobId)),
    warmup: await readWarmupDigest(deps.sql, jobId, thresholds, DIGEST_ACCOUNTS_LISTED),
  };
  const counts = { disconnected: 0, reconnected: 0, added: 0, removed: 0 };
  for (const w of digest.workspaces) {
    for (const kind of Object.keys(counts) as (keyof typeof counts)[]) counts[kind] += w.counts[kind];
  }
  deps.metrics.runChanges(counts);
  if (!digestWorthSending(digest)) return;
  const { subject, message } = formatDigest(digest);
  let published = false;
  if (deps.changes) {
    try {
      await deps.changes.publish({ subject, message });
      published = true;
      // The webhooks' pending disconnections are named in this digest: not sent again. A warmup
      // pass's digest (one that read a day) names no account change: they stay pending.
      if (digest.warmup.day === null) await markWebhookChangesDigested(deps.sql, webhookHighWater);
    } catch (error) {
      deps.log.error('run digest not published', { error: describeError(error) });
    }
  }
  deps.log.info('run digest', { ...counts, warmupAlerts: warmupAlertCount(digest.warmup), published });
  deps.onEvent?.({ type: 'changes-digest', jobId, subject, message, published });
}
