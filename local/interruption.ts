import { TASK_NAMES, type TaskHandlers, type TaskName } from '../lambdas/tasks';

/**
 * How a local run stops on Ctrl-C or a SIGTERM: the run's signal aborts what is in flight
 * (the HTTP requests, the waits), no task starts after it, the calls already running are
 * waited for, and the job is then marked failed as the EventBridge rule on ABORTED does
 * in AWS.
 */

/** The abort reason of a run stopped by a signal. */
export class RunInterrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${describeSignal(signal)}`);
  }
}

/** Ctrl-C only for a SIGINT: a SIGTERM comes from a supervisor or `kill`, not a keyboard. */
export function describeSignal(signal: NodeJS.Signals): string {
  return signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : signal;
}

/** What the job row says about the stop: the signal, else the abort's reason. */
export function describeInterruption(reason: unknown): string {
  if (reason instanceof RunInterrupted) return reason.message;
  if (reason instanceof Error && reason.message) return `stopped: ${reason.message}`;
  return 'stopped';
}

/**
 * The handlers a run's Task states call, stoppable: once `signal` aborts, a call starts
 * nothing (a Map iteration still queued, or a retry, gets the abort's reason at once,
 * touching neither EmailBison nor the database), and `settled` waits for the calls that
 * were already running, which the same signal cuts short. aws-local-stepfunctions' abort
 * ends the execution's result at once but leaves its Map iterations running: this is
 * what stops them.
 */
export function stoppableHandlers(handlers: TaskHandlers, signal: AbortSignal | undefined): TaskHandlers & { settled(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  const stoppable = (name: TaskName) => (event: unknown) => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const call = handlers[name](event);
    running.add(call);
    const forget = () => running.delete(call);
    call.then(forget, forget);
    return call;
  };
  return {
    ...(Object.fromEntries(TASK_NAMES.map((name) => [name, stoppable(name)])) as TaskHandlers),
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
