import type { TaskDeps } from './runtime/deps';

/*
 * The state machine's tasks, named once. The definition wires each into the graph, CDK
 * gives each a Lambda (entry lambdas/<dir>/handler.ts), and the local run, the bench and
 * the tests call each one's task code in process. Adding a task: an entry here and its
 * state in state-machine/definition.ts.
 *
 * Cheap to import on purpose: the task code (Postgres, the EmailBison client) loads on
 * first call, so the CDK app that reads the names does not load it, and no Lambda
 * bundle grows by another task's code.
 */

/** A task's code: built once from its dependencies, then called with each event. */
export type TaskFactory = (deps: TaskDeps) => (event: never) => Promise<unknown>;

export interface TaskSpec {
  /** The folder holding its task.ts and handler.ts (the Lambda's entry). */
  dir: string;
  /** The construct id of its Lambda, and the prefix of its log group's and alarms' ids. */
  constructId: string;
  /** The Lambda's description in the console. */
  description: string;
  /** The Lambda's timeout; its Task state waits a minute longer, so the Lambda's own timeout fires first. */
  timeoutSeconds: number;
  load(): Promise<TaskFactory>;
}

export const TASKS = {
  startJob: {
    dir: 'start-job',
    constructId: 'StartJob',
    description: 'sender-sync: takes the run lock, creates the job row, lists the workspaces',
    timeoutSeconds: 60,
    load: async () => (await import('./start-job/task')).createStartJobTask,
  },
  syncWorkspace: {
    dir: 'sync-workspace',
    constructId: 'SyncWorkspace',
    description: 'sender-sync: syncs one workspace from EmailBison into Postgres, resumable from a cursor',
    timeoutSeconds: 15 * 60,
    load: async () => (await import('./sync-workspace/task')).createSyncWorkspaceTask,
  },
  finalizeJob: {
    dir: 'finalize-job',
    constructId: 'FinalizeJob',
    description: 'sender-sync: aggregates the workspace results into polling_job_status and emits run metrics',
    timeoutSeconds: 2 * 60,
    load: async () => (await import('./finalize-job/task')).createFinalizeJobTask,
  },
  markFailed: {
    dir: 'mark-failed',
    constructId: 'MarkFailed',
    description: 'sender-sync: records a failed workspace or run, so no job stays running',
    timeoutSeconds: 60,
    load: async () => (await import('./mark-failed/task')).createMarkFailedTask,
  },
} as const satisfies Record<string, TaskSpec>;

export type TaskName = keyof typeof TASKS;

export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

/** A task as a Lambda sees it: a JSON event in, a JSON-able result out. */
export type TaskHandler = (event: unknown) => Promise<unknown>;
export type TaskHandlers = Record<TaskName, TaskHandler>;

/**
 * The real task code behind every task name, for running the state machine on this
 * machine (the local run, the bench, the tests). Events arrive untyped, as JSON does
 * to a Lambda; each task checks its own.
 */
export function createTaskHandlers(deps: TaskDeps): TaskHandlers {
  const handler = (name: TaskName): TaskHandler => {
    let task: Promise<(event: never) => Promise<unknown>> | undefined;
    return async (event) => {
      task ??= TASKS[name].load().then((create) => create(deps));
      return (await task)(event as never);
    };
  };
  return Object.fromEntries(TASK_NAMES.map((name) => [name, handler(name)])) as TaskHandlers;
}
