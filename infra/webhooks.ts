import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { publishOnly } from './notifications';
import { lambdaEnvironment } from '../lambdas/config/settings';
import { LAMBDA_NAMESPACE } from './alarms';
import type { SyncFunctions } from './functions';

export interface WebhookReceiverProps {
  functions: SyncFunctions;
  /** Where the alarms notify. */
  alarmTopic: sns.ITopic;
  /** The ChangesTopic: the applier sends webhook disconnections and removals to it, one digest per workspace per 5 minutes. Absent: nothing is published. */
  changesTopic?: sns.ITopic;
  /** The applier's event source mapping's maximum concurrency: its Postgres connections (one per container). Default 2, SQS's minimum. */
  applierMaxConcurrency?: number;
  /** The receiver's reserved concurrency; 0 or absent: none (a young account's quota refuses any). */
  receiverReservedConcurrency?: number;
}

/** The applier's timeout: a batch of 50 in one transaction, then the digest step. */
const APPLIER_TIMEOUT = Duration.seconds(60);
/** Deliveries an applier takes at once, and how long the mapping gathers them (a delivery waits at most this). */
const APPLIER_BATCH_SIZE = 50;
const APPLIER_BATCHING_WINDOW = Duration.seconds(1);
/** Attempts before a delivery goes to the dead-letter queue: Postgres down for a while is retried, a poison one is not forever. */
const MAX_RECEIVE_COUNT = 5;

/*
 * EmailBison's account webhooks, storage first (issue 19):
 *
 *   Function URL -> receiver (token, validation) -> SQS intake queue -> applier (event source
 *   mapping, maximum concurrency) -> Postgres; the applier sends the webhook digests.
 *
 * A Function URL, not an HTTP API: EmailBison neither signs deliveries nor sends a header of
 * ours, so the only credential is the workspace's token in the path (an HMAC of the master
 * secret and the workspace: lambdas/webhooks/token.ts), which the receiver checks in
 * constant time; API Gateway would add a service, a stage and a per-request charge and no
 * check the receiver does not already make. The URL is public (auth NONE) for the same
 * reason. The receiver holds no database secret and opens no connection: a burst of
 * deliveries scales out receivers and fills the queue, never Postgres's connection slots.
 * The applier's connections are bounded by its mapping's maximum concurrency (one per
 * container, DATABASE_POOL_MAX=1). A delivery that fails MAX_RECEIVE_COUNT times lands in
 * the dead-letter queue, whose alarm pages.
 *
 * The master secret lives in a secret of its own, apart from the API keys' (which
 * `workspaces add|import` write by workspace name), kept when the stack goes (Retain):
 * every workspace's token derives from it, and a new one means `webhooks register` again.
 * Its logical id is new (Secret, where the single token of before was Token): that token
 * was in every subscription URL, so it must not become the master secret; the old one is
 * retained, and can be deleted. Only the receiver reads it: the applier trusts the target
 * the receiver queued with the delivery.
 */
export class WebhookReceiver extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly applier: nodejs.NodejsFunction;
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly url: lambda.FunctionUrl;
  readonly webhookSecret: secretsmanager.Secret;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    this.webhookSecret = new secretsmanager.Secret(this, 'Secret', {
      description:
        "sender-sync: the webhook master secret; each workspace's URL token is an HMAC of it (`sender-sync webhooks url`). Changing it needs `sender-sync webhooks register` again.",
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "Every workspace's subscription URL at EmailBison carries a token derived from it; an automatic rotation would silently stop every delivery. Rotate it by hand, then run `sender-sync webhooks register`.",
    });

    this.deadLetters = new sqs.Queue(this, 'IntakeDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself the webhook intake queue's dead-letter queue; it needs none of its own.",
    });
    this.queue = new sqs.Queue(this, 'Intake', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the applier's timeout, as AWS advises for a Lambda event source, so a batch in progress is not handed out again.
      visibilityTimeout: Duration.seconds(APPLIER_TIMEOUT.toSeconds() * 6),
      // A Postgres outage of days still loses no delivery.
      retentionPeriod: Duration.days(14),
      // A body of 256 KiB travels base64 (lambdas/webhooks/intake.ts): up to 342 KiB, within SQS's 1 MiB.
      maxMessageSizeBytes: 1024 * 1024,
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.fn = props.functions.createFunction('WebhookReceiver', 'webhook-receiver', {
      description: 'sender-sync: receives EmailBison account webhooks, checks and queues them (no database)',
      timeout: Duration.seconds(30),
      withoutDatabase: true,
      reservedConcurrentExecutions: props.receiverReservedConcurrency || undefined,
      environment: lambdaEnvironment({ webhookSecretArn: this.webhookSecret.secretArn, webhookQueueUrl: this.queue.queueUrl }),
    });
    this.webhookSecret.grantRead(this.fn);
    this.queue.grantSendMessages(this.fn);
    this.url = this.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    this.applier = props.functions.createFunction('WebhookApplier', 'webhook-applier', {
      description: 'sender-sync: applies queued EmailBison webhook deliveries to Postgres and sends the webhook digests',
      timeout: APPLIER_TIMEOUT,
      environment: lambdaEnvironment({
        changesTopicArn: props.changesTopic?.topicArn,
        webhookQueueUrl: this.queue.queueUrl,
        databasePoolMax: 1,
      }),
    });
    // Consumes deliveries, and sends itself the delayed ticks that wake it when a digest falls due.
    this.queue.grantConsumeMessages(this.applier);
    this.queue.grantSendMessages(this.applier);
    if (props.changesTopic) publishOnly(props.changesTopic, this.applier);
    this.applier.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: APPLIER_BATCH_SIZE,
        maxBatchingWindow: APPLIER_BATCHING_WINDOW,
        maxConcurrency: props.applierMaxConcurrency ?? 2,
        reportBatchItemFailures: true,
      }),
    );

    // AWS/Lambda, dimension FunctionName (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html):
    // Errors counts a handler that threw or timed out; Url5xxCount every 5xx answer of the URL, the
    // handler's own 503 included (https://docs.aws.amazon.com/lambda/latest/dg/urls-monitoring.html).
    const metric = (fn: lambda.IFunction, metricName: string) =>
      new cloudwatch.Metric({
        namespace: LAMBDA_NAMESPACE,
        metricName,
        dimensionsMap: { FunctionName: fn.functionName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    const action = new cloudwatchActions.SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      created.addAlarmAction(action);
      this.alarms.push(created);
    };
    const breaching = {
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    alarm('ReceiverErrors', {
      ...breaching,
      threshold: 1,
      metric: metric(this.fn, 'Errors'),
      alarmDescription:
        'The sender-sync webhook receiver threw or timed out; its log group shows why. EmailBison retries the delivery, and the next hourly sync repairs what it missed.',
    });
    // Five, not one: a single 503 while SQS or Secrets Manager blinks is retried by EmailBison and needs nobody.
    alarm('ReceiverServerErrors', {
      ...breaching,
      threshold: 5,
      metric: metric(this.fn, 'Url5xxCount'),
      alarmDescription:
        'The sender-sync webhook receiver answered 5xx at least 5 times in 5 minutes (503: the webhook secret or the intake queue unreachable; 500: a bug, in its log). Account status waits for the next hourly sync meanwhile.',
    });
    alarm('ApplierErrors', {
      ...breaching,
      threshold: 3,
      metric: metric(this.applier, 'Errors'),
      alarmDescription:
        'The sender-sync webhook applier failed whole batches at least 3 times in 5 minutes (Postgres unreachable, or a bug: its log group says). The deliveries wait in the intake queue and are retried.',
    });
    // AWS/SQS, dimension QueueName (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
    alarm('IntakeDeadLettersVisible', {
      ...breaching,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 0,
      metric: this.deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      alarmDescription: `A webhook delivery failed ${MAX_RECEIVE_COUNT} times and waits in the dead-letter queue (the applier's log says why). Redrive it to the intake queue once fixed (aws sqs start-message-move-task); the next hourly sync repairs the account meanwhile.`,
    });
    alarm('IntakeBacklog', {
      ...breaching,
      threshold: 15 * 60,
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      alarmDescription:
        'The oldest webhook delivery in the intake queue has waited 15 minutes: the applier is not keeping up or cannot reach Postgres (its log says which).',
    });

    new CfnOutput(this, 'ReceiverUrl', {
      description: 'Webhook receiver base URL: `sender-sync webhooks register --url <this>` (with WEBHOOK_SECRET_ARN set)',
      value: this.url.url,
    });
    new CfnOutput(this, 'SecretArn', {
      description: 'The webhook master secret: export WEBHOOK_SECRET_ARN=<this> for `sender-sync webhooks url|register`',
      value: this.webhookSecret.secretArn,
    });
    new CfnOutput(this, 'UrlCommand', {
      description: "Prints each workspace's delivery URL, its token included (keep them off shared screens and tickets)",
      value: `WEBHOOK_SECRET_ARN=${this.webhookSecret.secretArn} sender-sync webhooks url --base ${this.url.url}`,
    });
  }
}
