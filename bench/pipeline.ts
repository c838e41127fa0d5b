import { createMarkFailedTask } from '../lambdas/mark-failed/task';
import { createRecordResultTask } from '../lambdas/record-result/task';
import type { TaskDeps } from '../lambdas/runtime/deps';
import { createStartJobTask } from '../lambdas/start-job/task';
import { createSyncWorkspaceTask } from '../lambdas/sync-workspace/task';
import { runStateMachineLocally, type LocalRunResult, type LocalTaskHandlers } from '../state-machine/local-runner';

/*
 * The sync as `npm start` runs it (local/run-local.ts): the synthesized state machine
 * definition executed locally, each Task state calling the real task code.
 */
export function realHandlers(deps: TaskDeps): LocalTaskHandlers {
  return {
    startJob: createStartJobTask(deps) as LocalTaskHandlers['startJob'],
    syncWorkspace: createSyncWorkspaceTask(deps) as LocalTaskHandlers['syncWorkspace'],
    recordResult: createRecordResultTask(deps) as LocalTaskHandlers['recordResult'],
    markFailed: createMarkFailedTask(deps) as LocalTaskHandlers['markFailed'],
  };
}

export interface PipelineRun {
  wallMs: number;
  execution: LocalRunResult;
  accountsSynced: number;
}

/** One execution with input `{}`; fails loudly unless every workspace synced. */
export async function runPipeline(deps: TaskDeps, options: { mapConcurrency?: number } = {}): Promise<PipelineRun> {
  const started = performance.now();
  const execution = await runStateMachineLocally({ input: {}, handlers: realHandlers(deps), mapConcurrency: options.mapConcurrency });
  const wallMs = performance.now() - started;
  const output = execution.output as { status?: string; totalAccountsSynced?: number } | undefined;
  if (execution.status !== 'SUCCEEDED' || output?.status !== 'completed') {
    throw new Error(`the sync did not complete: ${execution.status} ${output?.status ?? ''} ${execution.error ?? ''} ${execution.cause ?? ''}`);
  }
  return { wallMs, execution, accountsSynced: output.totalAccountsSynced ?? 0 };
}
