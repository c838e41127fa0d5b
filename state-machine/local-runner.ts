import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { randomUUID } from 'node:crypto';
import type { TaskHandlers, TaskName } from '../lambdas/tasks';
import {
  GENERATED_DEFINITION,
  GENERATED_MAP_CONCURRENCY,
  LOCAL_STATE_MACHINE_ARN,
  LOCAL_STATE_MACHINE_NAME,
  findLocallyIgnoredFeatures,
  localExecutionArn,
  type AslDefinition,
} from './asl';
import { TASK_OF_STATE } from './states';

export { findLocallyIgnoredFeatures, localExecutionArn, type AslDefinition } from './asl';

/*
 * Runs the ASL the stack deploys with aws-local-stepfunctions, each Task state calling an
 * in-process handler instead of a Lambda. The handlers see what the Lambdas would see:
 * the task's Payload, JSON-serialized; a thrown error reaches Retry/Catch as a Lambda
 * error would (Error = its name, Cause = {"errorType","errorMessage"} as JSON).
 */

// aws-local-stepfunctions 3.0.0 uses Promise.withResolvers (Node 22); Node 20 lacks it.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/** NOT_STARTED never comes from runStateMachineLocally: a local run refused before starting one (another run holds the lock). */
export type LocalRunStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT' | 'NOT_STARTED';

/** One entry of aws-local-stepfunctions' event log (state entered/exited with input and output, retries, catches, ...). */
export interface LocalRunEvent {
  type: string;
  timestamp: number;
  [field: string]: unknown;
}

export interface LocalRunResult {
  status: LocalRunStatus;
  output?: unknown;
  /** The execution's error and cause, as the console would show them for a FAILED execution. */
  error?: string;
  cause?: string;
  /** The event history, including every state's input and output. */
  events: LocalRunEvent[];
  executionArn: string;
  durationMs: number;
}

export interface LocalRunOptions {
  input: unknown;
  /** What each Task state calls, by task name (lambdas/tasks.ts; createTaskHandlers gives the real ones). */
  handlers: TaskHandlers;
  /** Workspaces synced at once by the Map state. Default 3, as deployed. */
  mapConcurrency?: number;
  /** The execution's name (the last part of its ARN). Default: a random UUID. */
  executionName?: string;
  /** Retry without waiting (tests). Default false: the definition's backoff applies. */
  instantRetries?: boolean;
  onEvent?: (event: LocalRunEvent) => void;
  /** Aborting ends the run with status ABORTED (handlers already running are not interrupted). */
  signal?: AbortSignal;
  /** A definition to run instead of the synthesized one (tests). */
  definition?: AslDefinition;
}

export async function runStateMachineLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const definition = options.definition
    ? validated(structuredClone(options.definition))
    : await synthesizedDefinition(options.mapConcurrency ?? GENERATED_MAP_CONCURRENCY);
  const taskStates = collectStates(definition);
  const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [stateName, state] of taskStates) {
    if (state.Type !== 'Task') continue;
    const task: TaskName | undefined = TASK_OF_STATE[stateName];
    if (!task) throw new Error(`Task state "${stateName}" has no local handler: add it to TASK_OF_STATE`);
    taskResourceLocalHandlers[stateName] = lambdaInvoke(options.handlers, task);
  }
  const retryIntervalOverrides = options.instantRetries
    ? Object.fromEntries(taskStates.filter(([, state]) => 'Retry' in state).map(([name]) => [name, 0]))
    : undefined;

  const executionName = options.executionName ?? randomUUID();
  const executionArn = localExecutionArn(executionName);
  const events: LocalRunEvent[] = [];
  const started = Date.now();
  const finish = (result: Omit<LocalRunResult, 'events' | 'executionArn' | 'durationMs'>): LocalRunResult => ({
    ...result,
    events,
    executionArn,
    durationMs: Date.now() - started,
  });
  if (options.signal?.aborted) return finish({ status: 'ABORTED' });

  const stateMachine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const execution = stateMachine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never, retryIntervalOverrides },
    context: {
      Execution: { Id: executionArn, Name: executionName },
      StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: LOCAL_STATE_MACHINE_NAME },
    },
  });
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      const entry = event as unknown as LocalRunEvent;
      events.push(entry);
      options.onEvent?.(entry);
    }
  })();
  const abort = () => execution.abort();
  options.signal?.addEventListener('abort', abort, { once: true });

  try {
    const output = await execution.result;
    return finish({ status: 'SUCCEEDED', output });
  } catch (error) {
    if (error instanceof ExecutionAbortedError) return finish({ status: 'ABORTED' });
    if (error instanceof ExecutionTimeoutError)
      return finish({ status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds.' });
    if (error instanceof ExecutionError && error.cause instanceof Error) {
      // A Fail state's error is the cause's name and its cause the message; an uncaught task error likewise.
      return finish({ status: 'FAILED', error: error.cause.name, cause: error.cause.message });
    }
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await collecting;
  }
}

/*
 * The deployed concurrency runs the generated copy of what the CDK synthesizes (asl.ts),
 * without loading the CDK or validating it again: validating takes 0.5-3 s, and
 * test/unit/state-machine/definition-json.test.ts checks that copy is the synthesized
 * definition and valid. Any other concurrency is synthesized and validated here.
 */
const synthesized = new Map<number, AslDefinition>();
async function synthesizedDefinition(mapConcurrency: number): Promise<AslDefinition> {
  let definition = synthesized.get(mapConcurrency);
  if (!definition) {
    definition =
      mapConcurrency === GENERATED_MAP_CONCURRENCY
        ? structuredClone(GENERATED_DEFINITION)
        : validated((await import('./synthesize')).synthesizeDefinition({ mapConcurrency }));
    synthesized.set(mapConcurrency, definition);
  }
  return structuredClone(definition);
}

/** Checks the ASL against the runner's schema, JSONPaths and ARNs; throws if invalid. */
export function validated(definition: AslDefinition): AslDefinition {
  const ignored = findLocallyIgnoredFeatures(definition);
  if (ignored.length > 0) {
    throw new Error(`The definition uses features aws-local-stepfunctions ignores, so it cannot run locally: ${ignored.join(', ')}`);
  }
  // The validator fills in schema defaults (QueryLanguage) on what it is given: give it a copy.
  new StateMachine(structuredClone(definition) as never, { validationOptions: { checkPaths: true, checkArn: true } });
  return definition;
}

/** Every state of the definition, including those inside Map item processors. */
function collectStates(definition: { States: Record<string, Record<string, unknown>> }): [string, Record<string, unknown>][] {
  const found: [string, Record<string, unknown>][] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    found.push([name, state]);
    const processor = (state.ItemProcessor ?? state.Iterator) as typeof definition | undefined;
    if (processor) found.push(...collectStates(processor));
    for (const branch of (state.Branches as (typeof definition)[] | undefined) ?? []) found.push(...collectStates(branch));
  }
  return found;
}

/** The lambda:invoke integration around a handler: the { StatusCode, Payload } envelope, errors shaped like Lambda's. */
function lambdaInvoke(handlers: TaskHandlers, task: TaskName) {
  return async (input: unknown): Promise<unknown> => {
    const event = asJson((input as { Payload?: unknown } | null)?.Payload ?? null);
    let payload: unknown;
    try {
      payload = await handlers[task](event);
    } catch (error) {
      throw asLambdaError(error);
    }
    return { ExecutedVersion: '$LATEST', StatusCode: 200, Payload: asJson(payload ?? null) };
  };
}

function asJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function asLambdaError(error: unknown): Error {
  const errorType = error instanceof Error ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const lambdaError = new Error(JSON.stringify({ errorType, errorMessage }));
  lambdaError.name = errorType;
  return lambdaError;
}
