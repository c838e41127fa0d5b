import { createMarkFailedTask } from '../../lambdas/mark-failed/task';
import { createRecordResultTask } from '../../lambdas/record-result/task';
import type { TaskDeps } from '../../lambdas/runtime/deps';
import { createStartJobTask } from '../../lambdas/start-job/task';
import { createSyncWorkspaceTask, type SyncWorkspaceEvent } from '../../lambdas/sync-workspace/task';
import { workspaceNameLookup } from '../../lambdas/workspaces/registry';
import { runStateMachineLocally, type LocalRunResult, type LocalTaskHandlers } from '../../state-machine/local-runner';

export interface Observed {
  inFlight: number;
  peak: number;
  calls: Map<string, number>;
}

/** The real task code behind each Task state, counting concurrent Sync workspace calls. */
export function realHandlers(deps: TaskDeps, observed: Observed, override?: Partial<LocalTaskHandlers>): LocalTaskHandlers {
  const sync = createSyncWorkspaceTask(deps);
  const nameOf = workspaceNameLookup(deps.sql);
  return {
    startJob: createStartJobTask(deps) as LocalTaskHandlers['startJob'],
    syncWorkspace: async (event) => {
      const e = event as SyncWorkspaceEvent;
      observed.inFlight += 1;
      observed.peak = Math.max(observed.peak, observed.inFlight);
      const name = await nameOf(e.workspace);
      observed.calls.set(name, (observed.calls.get(name) ?? 0) + 1);
      try {
        return await (override?.syncWorkspace ?? sync)(event as never);
      } finally {
        observed.inFlight -= 1;
      }
    },
    recordResult: createRecordResultTask(deps) as LocalTaskHandlers['recordResult'],
    markFailed: createMarkFailedTask(deps) as LocalTaskHandlers['markFailed'],
  };
}

export async function runLocally(deps: TaskDeps, input: unknown, override?: Partial<LocalTaskHandlers>): Promise<LocalRunResult & { observed: Observed }> {
  const observed: Observed = { inFlight: 0, peak: 0, calls: new Map() };
  const result = await runStateMachineLocally({ input, handlers: realHandlers(deps, observed, override), instantRetries: true });
  return { ...result, observed };
}

/** Every state input and output of an execution's history, as text. */
export function historyText(result: LocalRunResult): string {
  return JSON.stringify(result.events);
}
