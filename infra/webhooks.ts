import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { publishOnly } from './notifications';
import { lambdaEnvironment } from '../lambdas/config/settings';
import { LAMBDA_NAMESPACE } from './alarms';
import type { SyncFunctions } from './functions';

export interface WebhookReceiverProps {
  functions: SyncFunctions;
  /** Where the alarms notify. */
  alarmTopic: sns.ITopic;
  /** The ChangesTopic: webhook disconnections and removals are published to it, batched. Absent: nothing is published. */
  changesTopic?: sns.ITopic;
}

/*
 * EmailBison's account webhooks (lambdas/webhook-receiver). A Function URL, not an HTTP
 * API: EmailBison neither signs deliveries nor sends a header of ours, so the only
 * credential is the workspace's token in the path (an HMAC of the master secret and the
 * workspace: lambdas/webhooks/token.ts), which the handler checks in constant time;
 * API Gateway would add a service, a stage and a per-request charge and no check the
 * handler does not already make. The URL is public (auth NONE) for the same reason.
 *
 * The master secret lives in a secret of its own, apart from the API keys' (which
 * `workspaces add|import` write by workspace name), kept when the stack goes (Retain):
 * every workspace's token derives from it, and a new one means `webhooks register` again.
 * Its logical id is new (Secret, where the single token of before was Token): that
 * token was in every subscription URL, so it must not become the master secret; the old
 * one is retained, and can be deleted. One database connection per container: a burst of
 * deliveries scales out containers, not connections per container.
 */
export class WebhookReceiver extends Construct {
  readonly fn: nodejs.NodejsFunction;
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

    this.fn = props.functions.createFunction('WebhookReceiver', 'webhook-receiver', {
      description: 'sender-sync: receives EmailBison account webhooks and applies them to Postgres before answering',
      timeout: Duration.seconds(30),
      environment: lambdaEnvironment({
        webhookSecretArn: this.webhookSecret.secretArn,
        changesTopicArn: props.changesTopic?.topicArn,
        databasePoolMax: 1,
      }),
    });
    this.webhookSecret.grantRead(this.fn);
    if (props.changesTopic) publishOnly(props.changesTopic, this.fn);
    this.url = this.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    // AWS/Lambda, dimension FunctionName (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html):
    // Errors counts a handler that threw or timed out; Url5xxCount every 5xx answer of the URL, the
    // handler's own 500/503 included (https://docs.aws.amazon.com/lambda/latest/dg/urls-monitoring.html).
    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: LAMBDA_NAMESPACE,
        metricName,
        dimensionsMap: { FunctionName: this.fn.functionName },
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
      metric: metric('Errors'),
      alarmDescription:
        'The sender-sync webhook receiver threw or timed out; its log group shows why. EmailBison retries the delivery, and the next hourly sync repairs what it missed.',
    });
    // Five, not one: a single 503 while Postgres restarts is retried by EmailBison and needs nobody.
    alarm('ReceiverServerErrors', {
      ...breaching,
      threshold: 5,
      metric: metric('Url5xxCount'),
      alarmDescription:
        'The sender-sync webhook receiver answered 5xx at least 5 times in 5 minutes (503: Postgres or the token secret unreachable; 500: a bug, in its log). Account status waits for the next hourly sync meanwhile.',
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
