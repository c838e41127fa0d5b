import type { TaskDeps } from '../../lambdas/runtime/deps';
import type { SyncWorkspaceEvent } from '../../lambdas/sync-workspace/task';
import { createTaskHandlers, type TaskHandlers } from '../../lambdas/tasks';
import { workspaceNameLookup } from '../../lambdas/workspaces/registry';
import { runStateMachineLocally, type LocalRunResult } from '../../state-machine/local-runner';

export interface Observed {
  inFlight: number;
  peak: number;
  calls: Map<string, number>;
}

/** The real task code behind each Task state, counting concurrent Sync workspace calls. */
export function realHandlers(deps: TaskDeps, observed: Observed, override?: Partial<TaskHandlers>): TaskHandlers {
  const handlers = createTaskHandlers(deps);
  const nameOf = workspaceNameLookup(deps.sql);
  return {
    ...handlers,
    syncWorkspace: async (event) => {
      const e = event as SyncWorkspaceEvent;
      observed.inFlight += 1;
      observed.peak = Math.max(observed.peak, observed.inFlight);
      const name = await nameOf(e.workspace);
      observed.calls.set(name, (observed.calls.get(name) ?? 0) + 1);
      try {
        return await (override?.syncWorkspace ?? handlers.syncWorkspace)(event);
      } finally {
        observed.inFlight -= 1;
      }
    },
  };
}

export async function runLocally(
  deps: TaskDeps,
  input: unknown,
  override?: Partial<TaskHandlers>,
): Promise<LocalRunResult & { observed: Observed }> {
  const observed: Observed = { inFlight: 0, peak: 0, calls: new Map() };
  const result = await runStateMachineLocally({ input, handlers: realHandlers(deps, observed, override), instantRetries: true });
  return { ...result, observed };
}

/** Every state input and output of an execution's history, as text. */
export function historyText(result: LocalRunResult): string {
  return JSON.stringify(result.events);
}
