import { parseExecutionInput } from '../jobs/execution-input';
import { startJob, type StartJobResult } from '../jobs/start-job';
import type { TaskDeps } from '../runtime/deps';

export interface StartJobEvent {
  input?: unknown;
  executionArn?: string;
  executionStartTime?: string;
}

export function createStartJobTask(deps: TaskDeps) {
  return async (event: StartJobEvent): Promise<StartJobResult> => {
    const input = parseExecutionInput(event?.input);
    const result = await startJob(deps.sql, {
      jobName: deps.config.jobName,
      workspaceNames: input.workspaces,
      executionArn: event?.executionArn || undefined,
      triggerSource: input.triggerSource ?? (event?.executionArn ? 'step-functions' : 'manual'),
      runTimeoutMinutes: deps.config.runTimeoutMinutes,
    });
    if (result.status === 'already_running') {
      deps.log.warn('another run holds the lock: not starting', { runningJobId: result.runningJobId, runningForSeconds: result.runningForSeconds });
    } else {
      deps.log.setContext({ jobId: result.jobId });
      deps.log.info('job started', { workspaces: result.workspaces.length });
    }
    return result;
  };
}
