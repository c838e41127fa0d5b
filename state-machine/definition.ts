import { Duration, Lazy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { NOT_RETRIED_ERRORS, type ErrorName } from '../lambdas/errors';
import { TASKS, type TaskName } from '../lambdas/tasks';
import { STATE } from './states';

export { STATE, TASK_OF_STATE } from './states';

/*
 * The one definition of the sender-sync state machine. The stack deploys it and the
 * local runner executes the ASL that CDK synthesizes from it (synthesize.ts): there is
 * no second copy. JSONPath only: aws-local-stepfunctions silently ignores JSONata,
 * Assign, ItemReader, ItemBatcher and ToleratedFailure*, so none of them may appear.
 */

/** The Lambda behind each task of lambdas/tasks.ts. */
export type SyncTaskFunctions = Readonly<Record<TaskName, lambda.IFunction>>;

export interface SyncDefinitionProps {
  functions: SyncTaskFunctions;
  /** Workspaces synced at once by the Map state. */
  mapConcurrency: number;
}

/** The state machine's top-level Comment, deployed and local alike. */
export const STATE_MACHINE_COMMENT =
  "sender-sync: syncs every EmailBison workspace's sender accounts into Postgres and records the run in polling_job_status.";

/**
 * Each Task state waits a minute longer than its Lambda's timeout (lambdas/tasks.ts), so
 * the Lambda's own timeout fires first (and is retried) while a lost invocation still
 * ends. The local runner honours the Task timeouts too (its default would be 60 s).
 */
const TASK_TIMEOUT_MARGIN = Duration.minutes(1);

/** A JSON null in a payload template: CDK drops literal nulls when it renders one. */
const JSON_NULL = Lazy.any({ produce: () => null });

/**
 * Errors a retry cannot fix (a rejected key, a wrong base URL, an unknown workspace, a
 * bad input, configuration or secret...): the ones the error catalogue marks not
 * retried (lambdas/errors.ts). Matched first with MaxAttempts 0 so the catch-all
 * retrier after it never sees them.
 */
export const NON_RETRYABLE_ERRORS = NOT_RETRIED_ERRORS;

/**
 * The Lambda service's own transient failures. CDK's default LambdaInvoke retry omits
 * Lambda.TooManyRequestsException (throttling), so the definition lists them itself.
 * https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
 */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
] as const;

interface RetryPolicy {
  /** Attempts for everything else (Lambda.Unknown = out of memory or timed out, a crash, a database or EmailBison outage). */
  otherAttempts: number;
  otherInterval: Duration;
}

function addRetries(task: tasks.LambdaInvoke, policy: RetryPolicy): tasks.LambdaInvoke {
  task.addRetry({ errors: [...NON_RETRYABLE_ERRORS], maxAttempts: 0 });
  task.addRetry({
    errors: [...LAMBDA_SERVICE_ERRORS],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 6,
    maxDelay: Duration.minutes(1),
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: [sfn.Errors.ALL],
    interval: policy.otherInterval,
    backoffRate: 2,
    maxAttempts: policy.otherAttempts,
    maxDelay: Duration.minutes(2),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

function invoke(
  scope: Construct,
  task: TaskName,
  fn: lambda.IFunction,
  props: Omit<tasks.LambdaInvokeProps, 'lambdaFunction' | 'retryOnServiceExceptions' | 'taskTimeout'> & { stateName: string },
): tasks.LambdaInvoke {
  return new tasks.LambdaInvoke(scope, props.stateName, {
    ...props,
    lambdaFunction: fn,
    // Replaced by addRetries, which also retries Lambda.TooManyRequestsException.
    retryOnServiceExceptions: false,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(TASKS[task].timeoutSeconds).plus(TASK_TIMEOUT_MARGIN)),
  });
}

/** Builds the state machine's definition from the task functions. */
export function buildSyncDefinition(scope: Construct, props: SyncDefinitionProps): sfn.DefinitionBody {
  if (!Number.isInteger(props.mapConcurrency) || props.mapConcurrency < 1) {
    throw new Error(`mapConcurrency must be a positive integer, got ${props.mapConcurrency}`);
  }
  const { functions } = props;
  const states = new Construct(scope, 'States');

  const startJob = addRetries(
    invoke(states, 'startJob', functions.startJob, {
      stateName: STATE.startJob,
      comment:
        'Takes the single-flight lock, creates the polling_job_status row and lists the ids of the workspaces to sync (never names or keys, so 1,000 workspaces fit in a few KB). ' +
        'Input {"mode": "warmup"} makes the run the daily warmup pass (its own job name and lock). A bad execution input fails here with InvalidInputError.',
      payload: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.objectAt('$.input'),
        executionArn: sfn.JsonPath.stringAt('$$.Execution.Id'),
        executionStartTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      }),
      outputPath: '$.Payload',
    }),
    // Start job is idempotent per execution: a retry returns the job it already created.
    { otherAttempts: 2, otherInterval: Duration.seconds(5) },
  );

  const alreadyRunning = new sfn.Succeed(states, STATE.alreadyRunning, {
    comment: 'Another run holds the lock (its job id and age are in this output): this run does nothing.',
  });

  const syncWorkspace = addRetries(
    invoke(states, 'syncWorkspace', functions.syncWorkspace, {
      stateName: STATE.syncWorkspace,
      comment:
        'Pages through one workspace and upserts its accounts (in warmup mode, its warmup figures for the day), until done or its time budget runs out; then returns a cursor. ' +
        'A retry resumes from the cursor saved in Postgres, so it repeats no finished work.',
      payload: sfn.TaskInput.fromJsonPathAt('$'),
      outputPath: '$.Payload',
    }),
    { otherAttempts: 3, otherInterval: Duration.seconds(10) },
  );

  const recordWorkspaceFailure = addRetries(
    invoke(states, 'markFailed', functions.markFailed, {
      stateName: STATE.recordWorkspaceFailure,
      comment:
        'This workspace gave up after its retries: records it as failed (with the error) and ends its iteration; the other workspaces go on.',
      payload: sfn.TaskInput.fromObject({
        scope: 'workspace',
        jobId: sfn.JsonPath.stringAt('$.jobId'),
        workspace: sfn.JsonPath.objectAt('$.workspace'),
        error: sfn.JsonPath.objectAt('$.error'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
      // The iteration's output is the workspace's id (and name, once read): a few bytes, whatever its size.
      outputPath: '$.workspace',
    }),
    { otherAttempts: 3, otherInterval: Duration.seconds(5) },
  );
  syncWorkspace.addCatch(recordWorkspaceFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const workspaceSynced = new sfn.Succeed(states, STATE.workspaceSynced, {
    comment: "Every page of this workspace is synced. Outputs only its id and name, so an iteration's output stays tiny.",
    outputPath: '$.workspace',
  });
  const morePages = new sfn.Choice(states, STATE.morePages, {
    comment: 'Sync workspace stopped at its time budget with a cursor: go on from there.',
  })
    .when(sfn.Condition.booleanEquals('$.done', false), syncWorkspace)
    .otherwise(workspaceSynced);

  const syncEachWorkspace = new sfn.Map(states, STATE.syncEachWorkspace, {
    comment:
      `Syncs every workspace, ${props.mapConcurrency} at a time. A failed workspace is recorded and the others go on; ` +
      'iteration results are discarded (Finalize job reads them from Postgres).',
    itemsPath: '$.workspaceIds',
    itemSelector: {
      jobId: sfn.JsonPath.stringAt('$.jobId'),
      workspace: { id: sfn.JsonPath.numberAt('$$.Map.Item.Value') },
      cursor: JSON_NULL,
      // The daily warmup pass ({"mode": "warmup"}) runs this same Map: the Lambda reads warmup figures for `day`.
      mode: sfn.JsonPath.stringAt('$.mode'),
      day: sfn.JsonPath.stringAt('$.day'),
    },
    maxConcurrency: props.mapConcurrency,
    resultPath: sfn.JsonPath.DISCARD,
  });
  syncEachWorkspace.itemProcessor(syncWorkspace.next(morePages));

  const finalizeJob = addRetries(
    invoke(states, 'finalizeJob', functions.finalizeJob, {
      stateName: STATE.finalizeJob,
      comment: 'Aggregates the per-workspace results into polling_job_status (completed, partial or failed) and emits the run metrics.',
      payload: sfn.TaskInput.fromObject({
        jobId: sfn.JsonPath.stringAt('$.jobId'),
        executionArn: sfn.JsonPath.stringAt('$$.Execution.Id'),
      }),
      outputPath: '$.Payload',
    }),
    { otherAttempts: 3, otherInterval: Duration.seconds(5) },
  );

  const runFailed = new sfn.Fail(states, STATE.runFailed, {
    comment: 'No workspace synced: the run counts in ExecutionsFailed.',
    error: 'RunFailed',
    cause: 'No workspace synced. The job row in polling_job_status names each workspace and its error (warnings, error_message).',
  });
  const done = new sfn.Succeed(states, STATE.done, {
    comment:
      'The job is completed, or partial (the failed workspaces are named in its warnings and counted in the WorkspacesFailed metric).',
  });
  // Redrive is not supported: a redriven execution of a failed run reaches Finalize job for a
  // job that already ended; it wrote nothing and says so (Finalize job's `note`).
  const jobAlreadyEnded = new sfn.Fail(states, STATE.jobAlreadyEnded, {
    comment:
      'The job had already ended (failed) when Finalize job ran, as in a redriven execution: nothing was written. Start a new execution.',
    error: 'JobAlreadyEnded',
    causePath: '$.note',
  });
  const runResult = new sfn.Choice(states, STATE.runResult, { comment: 'A failed job fails the execution.' })
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.alreadyEnded'), sfn.Condition.stringEquals('$.status', 'failed')), jobAlreadyEnded)
    .when(sfn.Condition.stringEquals('$.status', 'failed'), runFailed)
    .otherwise(done);

  const runBroke = new sfn.Fail(states, STATE.runBroke, {
    comment: 'The run itself broke (bad input, database down, a task out of retries): the execution fails with that error.',
    errorPath: '$.error.Error',
    causePath: '$.error.Cause',
  });
  const recordRunFailure = addRetries(
    invoke(states, 'markFailed', functions.markFailed, {
      stateName: STATE.recordRunFailure,
      comment:
        'Marks the job failed with the error (found by job id, or by this execution when no job id is known), so no job stays running.',
      payload: sfn.TaskInput.fromObject({
        scope: 'run',
        executionArn: sfn.JsonPath.stringAt('$$.Execution.Id'),
        jobId: sfn.JsonPath.stringAt('$.jobId'),
        error: sfn.JsonPath.objectAt('$.error'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    }),
    { otherAttempts: 2, otherInterval: Duration.seconds(5) },
  );
  // Even when recording fails, the execution fails with the original error (and the
  // status-change rule's mark-failed gets a second chance at the job row).
  recordRunFailure.addCatch(runBroke, { errors: [sfn.Errors.ALL], resultPath: '$.recordRunFailureError' });
  recordRunFailure.next(runBroke);

  // JSONPath has no optional paths: before a job exists, say so with an explicit null.
  const noJobYet = new sfn.Pass(states, STATE.noJobYet, {
    comment: 'Start job failed, so there is no job id yet: Record run failure finds the job (if any) by this execution.',
    parameters: { jobId: JSON_NULL, error: sfn.JsonPath.objectAt('$.error') },
  });
  noJobYet.next(recordRunFailure);

  // A deploy whose database secret still holds the stack's placeholder: no job, nothing
  // to record, and not a failed execution, so ExecutionsFailed does not page every hour
  // (the NotConfigured alarm says it once). Matched before the catch-all.
  const notConfigured = new sfn.Succeed(states, STATE.notConfigured, {
    comment:
      "The database secret still holds the stack's placeholder (NotConfiguredError, in this output): the run does nothing. " +
      'Fill in the secret and deploy again (docs/deploy.md).',
  });
  startJob.addCatch(notConfigured, { errors: ['NotConfiguredError' satisfies ErrorName], resultPath: '$.error' });
  startJob.addCatch(noJobYet, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  syncEachWorkspace.addCatch(recordRunFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  finalizeJob.addCatch(recordRunFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const lockHeld = new sfn.Choice(states, STATE.lockHeld, { comment: 'Start job found another run still going.' })
    .when(sfn.Condition.stringEquals('$.status', 'already_running'), alreadyRunning)
    .otherwise(syncEachWorkspace.next(finalizeJob).next(runResult));

  // Whatever start-execution was given (a list, a string) becomes a field of an object, so
  // the Catch below can add `error` to it and a bad input fails as a readable
  // InvalidInputError rather than States.ResultPathMatchFailure.
  const readInput = new sfn.Pass(states, STATE.readInput, {
    comment: 'Wraps the execution input ({} or {"workspaces": [...]}) for Start job, which checks it.',
    parameters: { input: sfn.JsonPath.objectAt('$') },
  });

  return sfn.DefinitionBody.fromChainable(readInput.next(startJob).next(lockHeld));
}
