import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** A queue holding what could not be delivered or handled, and what its depth alarm tells the operator. */
export interface UndeliveredQueue {
  /** The alarm's id prefix. */
  name: string;
  queue: sqs.Queue;
  /** What a message in it means and what to do. */
  meaning: string;
}

/**
 * Messages are kept 14 days (SQS's maximum), encrypted with SQS-managed keys (which
 * EventBridge and Lambda destinations can write to without a key policy) and reachable
 * only over TLS. Nothing consumes them: a person reads them after the depth alarm.
 */
function undeliveredQueue(scope: Construct, id: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter queue (of an EventBridge target or a Lambda on-failure destination); it needs none of its own.',
  });
  return queue;
}

export interface SyncScheduleProps {
  stateMachine: sfn.IStateMachine;
  /** An EventBridge schedule expression: rate(...) or cron(...). */
  schedule: string;
  enabled: boolean;
  /** UTC hour of the daily warmup pass. */
  warmupHour: number;
}

/** The warmup pass's execution input: the same state machine in warmup mode, for the UTC day it starts in. */
export const WARMUP_INPUT = { mode: 'warmup' } as const;

/**
 * Starts a run on a schedule, with input `{}`: every active workspace; and once a day, at
 * `warmupHour` UTC, the warmup pass (input `{"mode": "warmup"}`), which has its own job name
 * and lock, so it neither waits for the hourly sync nor blocks it.
 */
export class SyncSchedule extends Construct {
  readonly rule: events.Rule;
  readonly warmupRule: events.Rule;
  /** Schedule events EventBridge could not start an execution with (after its retries). */
  readonly undelivered: UndeliveredQueue;

  constructor(scope: Construct, id: string, props: SyncScheduleProps) {
    super(scope, id);
    const queue = undeliveredQueue(this, 'DeadLetters');
    this.undelivered = {
      name: 'ScheduleDeadLetters',
      queue,
      meaning:
        'EventBridge could not start a scheduled sender-sync run (StartExecution refused after its retries: permissions, a deleted state machine, throttling). ' +
        "The queue's messages carry the ERROR_CODE and ERROR_MESSAGE attributes; fix the cause, then purge the queue. The next schedule tick starts a run as usual.",
    };
    this.rule = new events.Rule(this, 'Rule', {
      description: 'sender-sync: starts a sync of every active workspace',
      schedule: events.Schedule.expression(props.schedule),
      enabled: props.enabled,
      targets: [new targets.SfnStateMachine(props.stateMachine, { input: events.RuleTargetInput.fromObject({}), deadLetterQueue: queue })],
    });
    this.warmupRule = new events.Rule(this, 'WarmupRule', {
      description: "sender-sync: once a day, reads every active workspace's warmup figures for the day (the warmup pass)",
      schedule: events.Schedule.cron({ minute: '0', hour: String(props.warmupHour) }),
      enabled: props.enabled,
      targets: [
        new targets.SfnStateMachine(props.stateMachine, { input: events.RuleTargetInput.fromObject(WARMUP_INPUT), deadLetterQueue: queue }),
      ],
    });
  }
}

export interface FailedRunRecorderProps {
  stateMachine: sfn.IStateMachine;
  markFailed: lambda.IFunction;
}

/** Statuses an execution can end in without its own Catch having recorded the run. */
export const UNRECORDED_END_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'];

/**
 * When an execution of this state machine ends FAILED, TIMED_OUT or ABORTED, the
 * mark-failed Lambda marks its job failed, so no polling_job_status row stays `running`
 * (a timeout or an abort ends the execution before any Catch can run).
 * Event format: https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
 *
 * Two ways the job could stay `running` are caught in queues: EventBridge failing to
 * invoke mark-failed (the target's dead-letter queue), and mark-failed itself failing
 * (the database down), which is an asynchronous invocation error the target never sees
 * (its on-failure destination, after Lambda's own retries).
 */
export class FailedRunRecorder extends Construct {
  readonly rule: events.Rule;
  readonly undelivered: UndeliveredQueue;
  readonly unhandled: UndeliveredQueue;

  constructor(scope: Construct, id: string, props: FailedRunRecorderProps) {
    super(scope, id);
    const deadLetters = undeliveredQueue(this, 'DeadLetters');
    this.undelivered = {
      name: 'StatusChangeDeadLetters',
      queue: deadLetters,
      meaning:
        'EventBridge could not invoke mark-failed for a failed, timed-out or aborted sender-sync execution, so its job may still be `running` (until a later run finds it stale). ' +
        'Each message is the status-change event; after fixing the cause, invoke the MarkFailed function with it (aws lambda invoke --payload), then purge the queue.',
    };
    const failures = undeliveredQueue(this, 'MarkFailedFailures');
    this.unhandled = {
      name: 'MarkFailedFailures',
      queue: failures,
      meaning:
        'mark-failed threw on a status-change event (after Lambda retried it twice): the job of a failed, timed-out or aborted execution may still be `running`. ' +
        'Each message holds the event (requestPayload) and the error (responsePayload); fix the cause (often the database), invoke MarkFailed with the requestPayload, then purge the queue.',
    };
    props.markFailed.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(failures), retryAttempts: 2 });

    this.rule = new events.Rule(this, 'Rule', {
      description: 'sender-sync: marks the job of a failed, timed-out or aborted execution failed',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: UNRECORDED_END_STATUSES,
          stateMachineArn: [props.stateMachine.stateMachineArn],
        },
      },
      targets: [
        new targets.LambdaFunction(props.markFailed, {
          // The raw event: mark-failed reads detail.executionArn and detail.status.
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: deadLetters,
        }),
      ],
    });
  }
}
