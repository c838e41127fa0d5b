import { InvalidInputError } from '../errors';
import { finalizeRunningJob } from '../jobs/finalize-job';
import type { JobRecord } from '../jobs/read-job';
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
    deps.onEvent?.({ type: 'job-finished', job: summary });
    const line = `job ${summary.status}: ${summary.workspacesSynced}/${summary.totalWorkspaces} workspaces synced, ${summary.totalAccountsSynced} accounts`;
    if (summary.status === 'completed') deps.log.info(line, { durationMs: summary.durationMs });
    else deps.log.warn(line, { warnings: summary.warnings, errorMessage: summary.errorMessage });
    return summary;
  };
}
