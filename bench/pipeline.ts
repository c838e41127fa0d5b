import type { TaskDeps } from '../lambdas/runtime/deps';
import { createTaskHandlers } from '../lambdas/tasks';
import { runStateMachineLocally, type LocalRunResult } from '../state-machine/local-runner';

/*
 * The sync as `npm start` runs it (local/run-local.ts): the synthesized state machine
 * definition executed locally, each Task state calling the real task code.
 */
export interface PipelineRun {
  wallMs: number;
  execution: LocalRunResult;
  accountsSynced: number;
}

/** One execution with input `{}`; fails loudly unless every workspace synced. */
export async function runPipeline(deps: TaskDeps, options: { mapConcurrency?: number } = {}): Promise<PipelineRun> {
  const started = performance.now();
  const execution = await runStateMachineLocally({ input: {}, handlers: createTaskHandlers(deps), mapConcurrency: options.mapConcurrency });
  const wallMs = performance.now() - started;
  const output = execution.output as { status?: string; totalAccountsSynced?: number } | undefined;
  if (execution.status !== 'SUCCEEDED' || output?.status !== 'completed') {
    throw new Error(
      `the sync did not complete: ${execution.status} ${output?.status ?? ''} ${execution.error ?? ''} ${execution.cause ?? ''}`,
    );
  }
  return { wallMs, execution, accountsSynced: output.totalAccountsSynced ?? 0 };
}
