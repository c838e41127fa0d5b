import { InvalidInputError } from '../errors';
import { describeStepFunctionsError, failRunningJob, recordWorkspaceFailure } from '../jobs/finalize-job';
import { sendDigest } from '../finalize-job/task';
import type { JobRecord } from '../jobs/read-job';
import type { WorkspaceIdRef } from '../workspaces/ref';
import type { TaskDeps } from '../runtime/deps';

/** From the state machine's Catch: one workspace gave up, the Map goes on. */
export interface WorkspaceFailedEvent {
  scope: 'workspace';
  jobId: string;
  workspace: WorkspaceIdRef;
  error: { Error?: string; Cause?: string };
}

/** From the state machine's outer Catch: the run itself broke. */
export interface RunFailedEvent {
  scope: 'run';
  jobId?: string;
  executionArn?: string;
  error: { Error?: string; Cause?: string };
}

/** From EventBridge: the execution ended FAILED, TIMED_OUT or ABORTED. */
export interface ExecutionStatusChangeEvent {
  source: 'aws.states';
  'detail-type': 'Step Functions Execution Status Change';
  detail: { executionArn: string; status: string; error?: string | null; cause?: string | null };
}

export type MarkFailedEvent = WorkspaceFailedEvent | RunFailedEvent | ExecutionStatusChangeEvent;

export function createMarkFailedTask(deps: TaskDeps) {
  return async (event: MarkFailedEvent): Promise<{ recorded: boolean; jobId?: string; status?: string }> => {
    if (event && 'scope' in event && event.scope === 'workspace') {
      if (!event.jobId || !Number.isInteger(event.workspace?.id)) {
        throw new InvalidInputError('Mark failed needs { scope: "workspace", jobId, workspace: { id }, error }.');
      }
      deps.log.setContext({ jobId: event.jobId, workspaceId: event.workspace.id });
      const error = describeStepFunctionsError(event.error);
      const name = await recordWorkspaceFailure(deps.sql, event.jobId, event.workspace.id, error);
      deps.log.setContext({ workspace: name ?? event.workspace.name });
      deps.log.error('workspace failed', { error });
      deps.onEvent?.({
        type: 'workspace-failed',
        jobId: event.jobId,
        workspace: { id: event.workspace.id, name: name ?? event.workspace.name },
        error,
      });
      return { recorded: true, jobId: event.jobId, status: 'failed' };
    }
    if (event && 'scope' in event && event.scope === 'run') {
      const reason = `The run failed: ${describeStepFunctionsError(event.error)}`;
      const summary = await failRunAndDigest(deps, { jobId: event.jobId, executionArn: event.executionArn }, reason);
      deps.log.error('run failed', { jobId: summary?.jobId, reason });
      deps.onEvent?.({ type: 'run-failed', jobId: summary?.jobId, reason });
      return { recorded: summary !== undefined, jobId: summary?.jobId, status: summary?.status };
    }
    if (event && 'detail' in event && event.detail?.executionArn) {
      const { executionArn, status, error, cause } = event.detail;
      const reason = `The execution ended ${status}${error ? `: ${error}` : ''}${cause ? ` (${String(cause).slice(0, 300)})` : ''}.`;
      const summary = await failRunAndDigest(deps, { executionArn }, reason);
      deps.log.warn('execution ended without recording its result', { executionArn, status, jobId: summary?.jobId });
      deps.onEvent?.({ type: 'run-failed', jobId: summary?.jobId, reason });
      return { recorded: summary !== undefined, jobId: summary?.jobId, status: summary?.status };
    }
    throw new InvalidInputError(
      'Mark failed needs a workspace or run failure from the state machine, or an execution status change event.',
    );
  };
}

/**
 * Fails the run's job; when this call ended it, the run's digest goes out as Finalize job's
 * would: the next run's window starts where this one ended, so its changes are told now or never.
 */
async function failRunAndDigest(
  deps: TaskDeps,
  target: { jobId?: string; executionArn?: string },
  reason: string,
): Promise<JobRecord | undefined> {
  const failed = await failRunningJob(deps.sql, target, reason);
  if (failed?.finalized) await sendDigest(deps, failed.job.jobId);
  return failed?.job;
}
