import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { buildApp, PROJECT_ROOT } from '../../infra/build-app';
import { SyncFunctions } from '../../infra/functions';
import { WebhookReceiver } from '../../infra/webhooks';
import { tempDir } from '../helpers/cleanup';

/* The webhook receiver's part of the template: a public Function URL, a retained master secret of its own, its alarms and outputs. */

type Json = any;

const { stack } = buildApp({
  context: { 'aws:cdk:bundling-stacks': [], 'sender-sync:migrateOnDeploy': true },
  nag: false,
  cloudFormationValidation: false,
  outdir: tempDir('cdk.out-webhooks-'),
});
const template = Template.fromStack(stack);
const resources = (type: string) => Object.entries(template.findResources(type)) as [string, Json][];
const ref = (construct: { node: { defaultChild?: unknown } }) =>
  stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
const receiverId = ref(stack.webhooks.fn);
const secretId = ref(stack.webhooks.webhookSecret);

const applierId = ref(stack.webhooks.applier);
const queueId = ref(stack.webhooks.queue);
const deadLettersId = ref(stack.webhooks.deadLetters);
const databaseSecretId = resources('AWS::SecretsManager::Secret').find(([id]) => id.startsWith('SecretsDatabase'))?.[0];
const statementsOf = (role: unknown) =>
  resources('AWS::IAM::Policy')
    .filter(([, policy]) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([role]))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Json[]);

describe('the webhook receiver', () => {
  it("is a Node.js 22 function behind a public Function URL (the workspace's token in the path is the credential)", () => {
    const fn = template.toJSON().Resources[receiverId];
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 30 });
    expect(fn.Properties.Environment.Variables).toMatchObject({
      WEBHOOK_SECRET_ARN: { Ref: secretId },
      WEBHOOK_QUEUE_URL: { Ref: queueId },
    });
    const urls = resources('AWS::Lambda::Url');
    expect(urls).toHaveLength(1);
    expect(urls[0][1].Properties).toMatchObject({ AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [receiverId, 'Arn'] } });
  });

  it('can send to the intake queue, and has no database secret, setting or permission', () => {
    const fn = template.toJSON().Resources[receiverId];
    const variables = Object.keys(fn.Properties.Environment.Variables);
    expect(variables.filter((name) => name.startsWith('DATABASE_'))).toEqual([]);
    expect(variables).not.toContain('CHANGES_TOPIC_ARN');
    expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(databaseSecretId).toBeDefined();
    const statements = statementsOf({ Ref: ref(stack.webhooks.fn.role as never) });
    expect(JSON.stringify(statements)).not.toContain(databaseSecretId);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: expect.arrayContaining(['sqs:SendMessage']),
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
      }),
    );
    expect(JSON.stringify(statements)).not.toMatch(/sqs:ReceiveMessage|sns:Publish/);
  });

  it('takes a reserved concurrency from a setting, none by default', () => {
    const { stack: reserved } = buildApp({
      context: { 'aws:cdk:bundling-stacks': [], 'sender-sync:webhookReceiverReservedConcurrency': 20 },
      nag: false,
      cloudFormationValidation: false,
      outdir: tempDir('cdk.out-webhooks-reserved-'),
    });
    const fn =
      Template.fromStack(reserved).toJSON().Resources[
        reserved.resolve((reserved.webhooks.fn.node.defaultChild as never as { logicalId: string }).logicalId)
      ];
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(20);
  });
});

describe('the webhook applier', () => {
  it('consumes the intake queue with a maximum concurrency of 2, reporting partial batch failures', () => {
    const mappings = resources('AWS::Lambda::EventSourceMapping').filter(([, m]) => m.Properties.FunctionName.Ref === applierId);
    expect(mappings).toHaveLength(1);
    expect(mappings[0][1].Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 1,
    });
  });

  it('takes its maximum concurrency from a setting (SQS refuses less than 2)', () => {
    const { stack: wider } = buildApp({
      context: { 'aws:cdk:bundling-stacks': [], 'sender-sync:webhookApplierMaxConcurrency': 5 },
      nag: false,
      cloudFormationValidation: false,
      outdir: tempDir('cdk.out-webhooks-concurrency-'),
    });
    const [mapping] = Object.values(Template.fromStack(wider).findResources('AWS::Lambda::EventSourceMapping')) as Json[];
    expect(mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 5 });
    expect(() =>
      buildApp({
        context: { 'aws:cdk:bundling-stacks': [], 'sender-sync:webhookApplierMaxConcurrency': 1 },
        nag: false,
        cloudFormationValidation: false,
        outdir: tempDir('cdk.out-webhooks-concurrency-1-'),
      }),
    ).toThrow(/webhookApplierMaxConcurrency/);
  });

  it('holds one Postgres connection per container and publishes the webhook digests to the ChangesTopic', () => {
    const fn = template.toJSON().Resources[applierId];
    const [[changesTopicId]] = resources('AWS::SNS::Topic').filter(([id]) => id.startsWith('ChangesTopic'));
    expect(fn.Properties.Environment.Variables).toMatchObject({
      DATABASE_POOL_MAX: '1',
      DATABASE_SECRET_ARN: expect.anything(),
      CHANGES_TOPIC_ARN: { Ref: changesTopicId },
      WEBHOOK_QUEUE_URL: { Ref: queueId },
    });
    // Six times its timeout, as AWS advises for a Lambda event source.
    expect(template.toJSON().Resources[queueId].Properties.VisibilityTimeout).toBe(6 * fn.Properties.Timeout);
  });

  it('sends what fails 5 times to a dead-letter queue, whose visible messages raise an alarm', () => {
    const queue = template.toJSON().Resources[queueId].Properties;
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [deadLettersId, 'Arn'] }, maxReceiveCount: 5 });
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400, MaximumMessageSize: 1_048_576 });
    const alarms = resources('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Namespace === 'AWS/SQS' && JSON.stringify(alarm.Dimensions).includes(deadLettersId));
    expect(alarms).toEqual([
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [expect.anything()],
      }),
    ]);
    expect(alarms[0].Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLettersId, 'QueueName'] } }]);
  });
});

describe("the webhook master secret, the receiver's alarms and outputs", () => {
  it("keeps a generated master secret of its own (not the API keys' secret, not the old token) when the stack goes, readable by the receiver alone", () => {
    const secret = template.toJSON().Resources[secretId];
    expect(secretId).toMatch(/^WebhooksSecret/);
    const keysIds = resources('AWS::SecretsManager::Secret')
      .map(([id]) => id)
      .filter((id) => id.startsWith('SecretsApiKeys'));
    expect(keysIds).toHaveLength(1);
    expect(keysIds).not.toContain(secretId);
    expect(Object.keys(template.toJSON().Resources).filter((id) => id.startsWith('WebhooksToken'))).toEqual([]);
    expect([secret.DeletionPolicy, secret.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    expect(secret.Properties.GenerateSecretString).toMatchObject({ ExcludePunctuation: true, PasswordLength: 48 });
    const readers = resources('AWS::IAM::Policy').filter(([, policy]) =>
      policy.Properties.PolicyDocument.Statement.some((s: Json) => JSON.stringify(s.Resource) === JSON.stringify({ Ref: secretId })),
    );
    expect(readers.map(([, policy]) => policy.Properties.Roles)).toEqual([[{ Ref: ref(stack.webhooks.fn.role as never) }]]);
  });

  it('is created with the applier after the migrations are applied', () => {
    for (const id of [receiverId, applierId]) {
      const fn = template.toJSON().Resources[id];
      expect(fn.DependsOn.some((dependency: string) => dependency.startsWith('MigrationsTrigger'))).toBe(true);
    }
  });

  it("alarms on the receiver's Errors and on the URL's 5xx answers (AWS/Lambda, FunctionName)", () => {
    const alarms = resources('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Dimensions?.[0]?.Value?.Ref === receiverId);
    expect(alarms.map((a) => [a.Namespace, a.MetricName, a.Statistic, a.Threshold, a.Period]).sort()).toEqual([
      ['AWS/Lambda', 'Errors', 'Sum', 1, 300],
      ['AWS/Lambda', 'Url5xxCount', 'Sum', 5, 300],
    ]);
    for (const alarm of alarms) {
      expect(alarm.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: receiverId } }]);
      expect(alarm.AlarmActions).toHaveLength(1);
      expect(alarm.AlarmDescription.length).toBeGreaterThan(80);
    }
  });

  it("outputs the base URL, the master secret's ARN, and the command that prints each workspace's URL", () => {
    const outputs = template.toJSON().Outputs as Record<string, Json>;
    const find = (suffix: string) => Object.entries(outputs).find(([id]) => id.startsWith('Webhooks') && id.includes(suffix))![1];
    const urlId = resources('AWS::Lambda::Url')[0][0];
    expect(find('ReceiverUrl').Value).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    expect(find('SecretArn').Value).toEqual({ Ref: secretId });
    const command = JSON.stringify(find('UrlCommand').Value);
    expect(command).toContain('sender-sync webhooks url --base ');
    expect(command).toContain(`WEBHOOK_SECRET_ARN=`);
    expect(command).toContain(secretId);
    expect(command).toContain(urlId);
  });

  it('has the applier publish to the ChangesTopic it is given, and nothing else', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: tempDir('cdk.out-webhooks-scratch-') });
    const scratch = new Stack(app, 'Scratch');
    const secret = (id: string) => new secretsmanager.Secret(scratch, id);
    const functions = new SyncFunctions(scratch, 'Functions', {
      projectRoot: PROJECT_ROOT,
      databaseSecret: secret('Db'),
      apiKeysSecret: secret('Keys'),
      jobName: 'job',
      runTimeoutMinutes: 60,
      syncBudgetSeconds: 600,
      pageConcurrency: 3,
      emailbisonPagination: 'auto',
      emailbisonMaxRps: 3,
      schedule: 'rate(1 hour)',
      warmupScoreDropPoints: 10,
      warmupScoreFloor: 50,
      logLevel: 'INFO',
      logRetentionDays: 30,
      tracingEnabled: false,
    });
    const changesTopic = new sns.Topic(scratch, 'ChangesTopic');
    const receiver = new WebhookReceiver(scratch, 'Webhooks', { functions, alarmTopic: new sns.Topic(scratch, 'Alarms'), changesTopic });
    const scratchTemplate = Template.fromStack(scratch);
    const topicId = scratch.resolve((changesTopic.node.defaultChild as unknown as { logicalId: string }).logicalId);
    const fn =
      scratchTemplate.toJSON().Resources[
        scratch.resolve((receiver.applier.node.defaultChild as unknown as { logicalId: string }).logicalId)
      ];
    expect(fn.Properties.Environment.Variables.CHANGES_TOPIC_ARN).toEqual({ Ref: topicId });
    const publishes = Object.values(scratchTemplate.findResources('AWS::IAM::Policy')).flatMap((policy: Json) =>
      policy.Properties.PolicyDocument.Statement.filter((s: Json) => s.Action === 'sns:Publish'),
    );
    expect(publishes).toEqual([expect.objectContaining({ Effect: 'Allow', Resource: { Ref: topicId } })]);
  });
});
