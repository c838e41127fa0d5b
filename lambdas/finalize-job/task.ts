import { InvalidInputError } from '../errors';
import { finalizeRunningJob } from '../jobs/finalize-job';
import type { JobRecord } from '../jobs/read-job';
import type { TaskDeps } from '../runtime/deps';

export interface FinalizeJobEvent {
  jobId: string;
  executionArn?: string;
}

export function createFinalizeJobTask(deps: TaskDeps) {
  return async (event: FinalizeJobEvent): Promise<JobRecord> => {
    if (!event?.jobId) throw new InvalidInputError('Finalize job needs { jobId }.');
    deps.log.setContext({ jobId: event.jobId });
    const { job: summary, finalized } = await finalizeRunningJob(deps.sql, event.jobId);
    // A retry after a committed first attempt finds the job ended: its run was counted then.
    if (!finalized) {
      deps.log.info('job already finalized: metrics not emitted again', { status: summary.status });
      return summary;
    }
    deps.metrics.runFinished(summary);
    deps.onEvent?.({ type: 'job-finished', job: summary });
    const line = `job ${summary.status}: ${summary.workspacesSynced}/${summary.totalWorkspaces} workspaces synced, ${summary.totalAccountsSynced} accounts`;
    if (summary.status === 'completed') deps.log.info(line, { durationMs: summary.durationMs });
    else deps.log.warn(line, { warnings: summary.warnings, errorMessage: summary.errorMessage });
    return summary;
  };
}
