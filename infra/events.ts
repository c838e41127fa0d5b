import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface SyncScheduleProps {
  stateMachine: sfn.IStateMachine;
  /** An EventBridge schedule expression: rate(...) or cron(...). */
  schedule: string;
  enabled: boolean;
}

/** Starts a run on a schedule, with input `{}`: every active workspace. */
export class SyncSchedule extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: SyncScheduleProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'sender-sync: starts a sync of every active workspace',
      schedule: events.Schedule.expression(props.schedule),
      enabled: props.enabled,
      targets: [new targets.SfnStateMachine(props.stateMachine, { input: events.RuleTargetInput.fromObject({}) })],
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
 */
export class FailedRunRecorder extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: FailedRunRecorderProps) {
    super(scope, id);
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
        }),
      ],
    });
  }
}
