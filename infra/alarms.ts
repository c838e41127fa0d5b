import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { UndeliveredQueue } from './events';
import { Construct } from 'constructs';
import {
  DIGEST_NOT_PUBLISHED_METRIC,
  METRICS_NAMESPACE,
  NEEDED_MINUTES_METRIC,
  NOT_CONFIGURED_METRIC,
  SERVICE_NAME,
} from '../lambdas/config/settings';

/*
 * Metric names, namespaces and dimensions are written out here rather than taken from
 * CDK helpers, each checked against AWS's documentation (an alarm on a metric that is
 * never emitted stays silent forever):
 * - AWS/States, dimension StateMachineArn: ExecutionsStarted, ExecutionsFailed,
 *   ExecutionsTimedOut, ExecutionsAborted, ExecutionThrottled (singular "Execution"),
 *   ExecutionTime (ms).
 *   https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
 *   (also listed in https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/appinsights-metrics-step-functions.html)
 * - AWS/Lambda, dimension FunctionName: Errors, Throttles.
 *   https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html
 * - AWS/SQS, dimension QueueName: ApproximateNumberOfMessagesVisible.
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 * - SenderSync, dimension service=sender-sync: WorkspacesFailed, SuccessfulRuns,
 *   emitted as EMF by the finalize-job Lambda, NotConfigured, emitted by Start job
 *   and by any Lambda that meets the placeholder secret, and DigestsNotPublished, emitted
 *   by whichever Lambda SNS refused a digest (lambdas/digests/publisher.ts), through Powertools Metrics, whose
 *   default dimension is `service` = the service name (lambdas/runtime/production.ts).
 *   Namespace and service name are constants of lambdas/config/settings.ts, which the
 *   Lambdas emit under: renaming one cannot silence these alarms.
 *   https://docs.powertools.aws.dev/lambda/typescript/latest/core/metrics/
 */

export const STATES_NAMESPACE = 'AWS/States';
export const LAMBDA_NAMESPACE = 'AWS/Lambda';
export const SENDER_SYNC_NAMESPACE = METRICS_NAMESPACE;
export const SENDER_SYNC_DIMENSIONS = { service: SERVICE_NAME };

export interface SyncAlarmsProps {
  stateMachine: sfn.IStateMachine;
  /** Each function; `calledByStateMachine` ones get no Errors alarm (the state machine's alarms see their errors). */
  functions: { name: string; fn: lambda.IFunction; calledByStateMachine: boolean }[];
  /** Queues of events nobody handled: any message in one pages someone. */
  queues: UndeliveredQueue[];
  topic: sns.ITopic;
  executionTimeAlarmMinutes: number;
  noSuccessAlarmHours: number;
  /** EMAILBISON_MAX_RPS, as the deferral alarm's text says it. */
  emailbisonMaxRps: number;
}

/** Every alarm notifies the topic; each says what it means and what to do. */
export class SyncAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: SyncAlarmsProps) {
    super(scope, id);
    const action = new cloudwatchActions.SnsAction(props.topic);
    const add = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, alarmProps);
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
      return alarm;
    };
    const states = (metricName: string, statistic: string, period = Duration.minutes(5)) =>
      new cloudwatch.Metric({
        namespace: STATES_NAMESPACE,
        metricName,
        dimensionsMap: { StateMachineArn: props.stateMachine.stateMachineArn },
        statistic,
        period,
      });
    const anyExecution = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const consoleHint =
      "Open the state machine in the Step Functions console (stack output StateMachineConsoleUrl), pick the execution and read the failed state's error.";

    add('ExecutionsFailed', {
      ...anyExecution,
      metric: states('ExecutionsFailed', 'Sum'),
      alarmDescription:
        `A sender-sync run FAILED: no workspace synced, or the run itself broke (bad input, database down, a task out of retries). ${consoleHint} ` +
        'polling_job_status.error_message of its job says the same. Fix the cause; the next scheduled run syncs everything again.',
    });
    add('ExecutionsTimedOut', {
      ...anyExecution,
      metric: states('ExecutionsTimedOut', 'Sum'),
      alarmDescription:
        'A sender-sync run hit the state machine timeout (sender-sync:runTimeoutMinutes) and was stopped; its job was marked failed. ' +
        'Look for a workspace whose Sync workspace loop kept going (huge workspace, EmailBison rate limiting); raise the timeout or sender-sync:mapConcurrency if runs just got longer.',
    });
    add('ExecutionsAborted', {
      ...anyExecution,
      metric: states('ExecutionsAborted', 'Sum'),
      alarmDescription:
        'A sender-sync run was stopped by hand (StopExecution) or by a redeploy; its job was marked failed. If nobody meant to stop it, check CloudTrail for StopExecution.',
    });
    add('ExecutionThrottled', {
      ...anyExecution,
      metric: states('ExecutionThrottled', 'Sum'),
      alarmDescription:
        'Step Functions throttled state transitions of sender-sync (account-wide quota). Runs slow down but continue; if it repeats, find what else in the account uses Step Functions heavily or request a quota increase.',
    });
    add('ExecutionTime', {
      metric: states('ExecutionTime', 'Maximum'),
      threshold: props.executionTimeAlarmMinutes * 60_000,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `A sender-sync run took longer than ${props.executionTimeAlarmMinutes} min. Runs are hourly, so slow runs start skipping each other ("Already running"). ` +
        'Check which workspace is slow (Sync workspace durations, RateLimitWaitMs metric) and whether EmailBison is rate limiting.',
    });
    add('WorkspacesFailed', {
      metric: new cloudwatch.Metric({
        namespace: SENDER_SYNC_NAMESPACE,
        metricName: 'WorkspacesFailed',
        dimensionsMap: SENDER_SYNC_DIMENSIONS,
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'A sender-sync run ended partial: at least one workspace did not sync, so its accounts in Postgres are stale. ' +
        'polling_job_status.warnings of the latest job names each workspace and its error (a rejected API key: update it in the API-keys secret; a wrong base URL: fix the workspace row).',
    });
    const senderSync = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({ namespace: SENDER_SYNC_NAMESPACE, metricName, dimensionsMap: SENDER_SYNC_DIMENSIONS, statistic, period });
    // Per hour: 1 when runs started (other than not-configured ones) and none completed,
    // 0 otherwise. An hour with no run at all (before the first one, the schedule
    // disabled) is no evidence either way: quiet, not breaching. Runs failing early
    // (no SuccessfulRuns at all) still count, since ExecutionsStarted sees them.
    add('NoSuccessfulRun', {
      metric: new cloudwatch.MathExpression({
        expression: 'IF(FILL(started, 0) > FILL(notConfigured, 0) AND FILL(succeeded, 0) == 0, 1, 0)',
        usingMetrics: {
          started: states('ExecutionsStarted', 'Sum', Duration.hours(1)),
          notConfigured: senderSync(NOT_CONFIGURED_METRIC, 'Sum', Duration.hours(1)),
          succeeded: senderSync('SuccessfulRuns', 'Sum', Duration.hours(1)),
        },
        period: Duration.hours(1),
        label: 'Hours in which runs started and none completed',
      }),
      threshold: 1,
      evaluationPeriods: props.noSuccessAlarmHours,
      datapointsToAlarm: props.noSuccessAlarmHours,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `Runs started in each of the last ${props.noSuccessAlarmHours} h and none completed, so the dashboard's data is getting old. ` +
        'Check the latest executions and polling_job_status rows (failed or partial, and why). Quiet while no run starts (schedule disabled).',
    });
    // Start job's plan (lambdas/jobs/plan-run.ts): the minutes the slowest instance that had
    // workspaces deferred needs at its cap, 0 when none was. One value per run and IGNORE:
    // one notification while deferrals last; the first run that defers nothing clears it.
    add('WorkspacesDeferred', {
      metric: senderSync(NEEDED_MINUTES_METRIC, 'Maximum', Duration.hours(1)),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      alarmDescription:
        `sender-sync deferred workspaces to the next run: this instance needs N min at ${props.emailbisonMaxRps} req/s: raise EMAILBISON_MAX_RPS or the interval ` +
        "(N is this alarm's datapoint, InstanceMinutesNeeded; the run may take the smaller of the schedule's interval and the run timeout). " +
        'polling_job_status.warnings of the latest job names the instance and its deferred workspaces; they sync first in the next run, so each still syncs every few runs. ' +
        `Raise sender-sync:emailbisonMaxRps only as far as the instance allows (the agency's other tools share it), or lengthen sender-sync:schedule.`,
    });
    // Holds one state for as long as the secret stays unfilled: one notification, however
    // many hourly runs meet the placeholder (missing data keeps the state; Start job's 0 clears it).
    add('NotConfigured', {
      metric: senderSync(NOT_CONFIGURED_METRIC, 'Maximum', Duration.hours(1)),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      alarmDescription:
        'sender-sync is deployed but not configured: the database secret (stack output DatabaseSecretArn) still holds the placeholder REPLACE_ME, so every run ends at once in the "Not configured" state. ' +
        'Fill in host, port, username, password and dbname, then run `cdk deploy` again (it applies the migrations). The alarm clears at the next run.',
    });
    // A digest that did not go out is the news of a bad day lost: the people who reconnect
    // inboxes were not told. Each failed publish counts 1 (after the SDK's own retries).
    add('DigestsNotPublished', {
      ...anyExecution,
      metric: senderSync(DIGEST_NOT_PUBLISHED_METRIC, 'Sum', Duration.minutes(5)),
      alarmDescription:
        "A digest of account changes (a run's, or the webhooks' batched news) could not be published to the ChangesTopic, so its subscribers were not told. " +
        'The log of the Lambda that tried (Finalize job or Mark failed: "run digest not published"; the webhook receiver: "webhook changes not published") says why: SNS refused it (topic policy, throttling) or was unreachable. ' +
        '`sender-sync changes --since 24h` lists every change it would have named.',
    });
    for (const { name, queue, meaning } of props.queues) {
      add(`${name}Depth`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: meaning,
      });
    }

    for (const { name, fn, calledByStateMachine } of props.functions) {
      const lambdaMetric = (metricName: string) =>
        new cloudwatch.Metric({
          namespace: LAMBDA_NAMESPACE,
          metricName,
          dimensionsMap: { FunctionName: fn.functionName },
          statistic: 'Sum',
          period: Duration.minutes(5),
        });
      // A task's error either was retried away (nothing to do), or was caught into a
      // workspace failure (WorkspacesFailed) or ends the run (ExecutionsFailed): an
      // Errors alarm as well would page twice for one revoked key.
      if (!calledByStateMachine) {
        add(`${name}Errors`, {
          ...anyExecution,
          metric: lambdaMetric('Errors'),
          alarmDescription: `The sender-sync ${name} Lambda threw (a crash, an out-of-memory or a timeout counts too); its log group shows the error.`,
        });
      }
      add(`${name}Throttles`, {
        ...anyExecution,
        metric: lambdaMetric('Throttles'),
        alarmDescription: `Lambda throttled the sender-sync ${name} function (account concurrency exhausted). The state machine retries throttled invocations; if it repeats, check the account's concurrency use or reserve concurrency for it.`,
      });
    }
  }
}
