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
 * credential is the random token in the path, which the handler checks in constant time;
 * API Gateway would add a service, a stage and a per-request charge and no check the
 * handler does not already make. The URL is public (auth NONE) for the same reason.
 *
 * The token lives in a secret of its own, kept when the stack goes (Retain): every
 * workspace's subscription at EmailBison carries it, and a new one means `webhooks
 * register` again. One database connection per container: a burst of deliveries scales
 * out containers, not connections per container.
 */
export class WebhookReceiver extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly url: lambda.FunctionUrl;
  readonly tokenSecret: secretsmanager.Secret;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    this.tokenSecret = new secretsmanager.Secret(this, 'Token', {
      description:
        'sender-sync: the token in the webhook receiver URL (/emailbison/<token>/<workspace id>). Changing it needs `sender-sync webhooks register` again.',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.tokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The token is part of every workspace's subscription URL at EmailBison; an automatic rotation would silently stop every delivery. Rotate it by hand, then run `sender-sync webhooks register`.",
    });

    this.fn = props.functions.createFunction('WebhookReceiver', 'webhook-receiver', {
      description: 'sender-sync: receives EmailBison account webhooks and applies them to Postgres before answering',
      timeout: Duration.seconds(30),
      environment: lambdaEnvironment({
        webhookTokenSecretArn: this.tokenSecret.secretArn,
        changesTopicArn: props.changesTopic?.topicArn,
        databasePoolMax: 1,
      }),
    });
    this.tokenSecret.grantRead(this.fn);
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
      description:
        'Webhook receiver base URL, without its token: `sender-sync webhooks register --url <this>` (with WEBHOOK_TOKEN_SECRET_ARN set)',
      value: this.url.url,
    });
    new CfnOutput(this, 'TokenSecretArn', {
      description: 'The webhook token secret: export WEBHOOK_TOKEN_SECRET_ARN=<this> for `sender-sync webhooks register`',
      value: this.tokenSecret.secretArn,
    });
    new CfnOutput(this, 'FullUrlCommand', {
      description: 'Prints the full receiver URL, token included (keep it off shared screens and tickets)',
      value: `echo "${this.url.url}emailbison/$(aws secretsmanager get-secret-value --secret-id ${this.tokenSecret.secretArn} --query SecretString --output text)"`,
    });
  }
}
