import type { LocalRunEvent } from '../state-machine/local-runner';

/*
 * What an execution's history would hold in AWS, counted from the local runner's event
 * log. The local runner logs one event when a state is entered and one when it exits;
 * AWS records more for some state types (event types from the HistoryEvent API
 * reference, https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html):
 *   Task (lambda:invoke)   TaskStateEntered, TaskScheduled, TaskStarted | TaskSucceeded, TaskStateExited
 *                          a retry adds TaskFailed, TaskScheduled, TaskStarted
 *   Map                    MapStateEntered, MapStateStarted | MapStateSucceeded, MapStateExited
 *   Map iteration          MapIterationStarted | MapIterationSucceeded (or Failed)
 *   Choice, Pass, Succeed  <Type>StateEntered | <Type>StateExited
 *   Fail                   FailStateEntered
 *   Execution              ExecutionStarted | ExecutionSucceeded (or Failed)
 * A Standard execution fails when its history reaches 25,000 events
 * (https://docs.aws.amazon.com/step-functions/latest/dg/limits.html, "Maximum execution
 * history size"); a state's input or output may be at most 262,144 bytes (same page).
 */
export const HISTORY_EVENT_LIMIT = 25_000;
export const PAYLOAD_LIMIT_BYTES = 262_144;

interface StateData {
  name: string;
  type: string;
  input?: unknown;
  output?: unknown;
}

function awsEvents(event: LocalRunEvent): number {
  const state = event.state as StateData | undefined;
  switch (event.type) {
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionAborted':
    case 'ExecutionTimeout':
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      return 1;
    case 'StateEntered':
      return state?.type === 'Task' ? 3 : state?.type === 'Map' || state?.type === 'Parallel' ? 2 : 1;
    case 'StateExited':
      return state?.type === 'Task' || state?.type === 'Map' || state?.type === 'Parallel' ? 2 : 1;
    case 'StateRetried':
      return 3;
    case 'StateFailed':
      return 1;
    default:
      return 0;
  }
}

export interface HistoryFigures {
  /** Events of the whole execution as AWS would record them. */
  totalEvents: number;
  /** Events outside the Map iterations: Start job, the Map state itself, Finalize job, ... */
  fixedEvents: number;
  /** Events of the iteration with the most (one workspace). */
  maxPerWorkspace: number;
  minPerWorkspace: number;
  workspaces: number;
  /** floor((25,000 - fixed) / max per workspace). */
  maxWorkspacesWithinLimit: number;
}

export function historyFigures(events: LocalRunEvent[]): HistoryFigures {
  const perIteration = new Map<number, number>();
  let total = 0;
  for (const event of events) {
    const count = awsEvents(event);
    total += count;
    if (typeof event.index === 'number') perIteration.set(event.index, (perIteration.get(event.index) ?? 0) + count);
  }
  const counts = [...perIteration.values()];
  const inIterations = counts.reduce((sum, n) => sum + n, 0);
  const fixed = total - inIterations;
  const maxPer = counts.reduce((max, n) => Math.max(max, n), 0);
  const minPer = counts.reduce((min, n) => Math.min(min, n), Number.POSITIVE_INFINITY);
  return {
    totalEvents: total,
    fixedEvents: fixed,
    maxPerWorkspace: maxPer,
    minPerWorkspace: Number.isFinite(minPer) ? minPer : 0,
    workspaces: counts.length,
    maxWorkspacesWithinLimit: maxPer > 0 ? Math.floor((HISTORY_EVENT_LIMIT - fixed) / maxPer) : 0,
  };
}

export interface LargestPayload {
  bytes: number;
  where: string;
}

/** The largest state input or output of the execution, in UTF-8 bytes of its JSON. */
export function largestPayload(events: LocalRunEvent[]): LargestPayload {
  let largest: LargestPayload = { bytes: 0, where: '' };
  const consider = (value: unknown, where: string) => {
    if (value === undefined) return;
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > largest.bytes) largest = { bytes, where };
  };
  for (const event of events) {
    const state = event.state as StateData | undefined;
    if (state) {
      consider(state.input, `${state.name} input`);
      consider(state.output, `${state.name} output`);
    }
    if (event.type === 'ExecutionStarted') consider(event.input, 'execution input');
    if (event.type === 'ExecutionSucceeded') consider(event.output, 'execution output');
    if (event.type.startsWith('MapIteration')) {
      consider(event.input, 'Map iteration input');
      consider(event.output, 'Map iteration output');
    }
  }
  return largest;
}
