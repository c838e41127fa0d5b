import type { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildApp, PROJECT_ROOT } from '../../infra/build-app';
import { migrationsHash } from '../../infra/migrations';
import { tempDir } from '../helpers/cleanup';
import { STATE } from '../../state-machine/definition';
import { LOCAL_ACCOUNT, LOCAL_REGION, synthesizeDefinition } from '../../state-machine/synthesize';

/*
 * Template assertions. Bundling is skipped (context aws:cdk:bundling-stacks = []) and so
 * is CDK's CloudFormation validation, to keep these fast; test/infra/bundling.test.ts
 * synthesizes once with both.
 */

const DATABASE_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf';
const API_KEYS_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/api-keys-GhIjKl';

function synth(context: Record<string, unknown> = {}) {
  const { stack } = buildApp({
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    nag: false,
    cloudFormationValidation: false,
    outdir: tempDir('cdk.out-'),
  });
  return { stack, template: Template.fromStack(stack) };
}

type Json = any;

const byDefault = synth();
const imported = synth({
  'sender-sync:databaseSecretArn': DATABASE_SECRET_ARN,
  'sender-sync:apiKeysSecretArn': API_KEYS_SECRET_ARN,
});

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;

function resources(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type));
}

/** The deployed definition, with each CloudFormation reference replaced by a readable placeholder. */
function deployedDefinition(template: Template, replace: (ref: Json) => string): Json {
  const [[, machine]] = resources(template, 'AWS::StepFunctions::StateMachine');
  const joined = machine.Properties.DefinitionString['Fn::Join'][1]
    .map((part: Json) => (typeof part === 'string' ? part : replace(part)))
    .join('');
  return JSON.parse(joined);
}

describe('synthesis', () => {
  it('raises no CDK warning or error, with or without a VPC, once an alarm e-mail is set', () => {
    const withEmail = synth({ 'sender-sync:alarmEmail': 'ops@example.com' });
    const withVpc = synth({
      'sender-sync:alarmEmail': 'ops@example.com',
      'sender-sync:vpcId': 'vpc-0abc',
      'sender-sync:subnetIds': 'subnet-1',
      'sender-sync:availabilityZones': 'eu-west-1a',
      'sender-sync:subnetsRouteToInternet': true,
      'sender-sync:tracingEnabled': true,
      'sender-sync:migrateOnDeploy': true,
    });
    for (const { stack } of [withEmail, withVpc]) {
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    }
  });
});

describe('the schedule', () => {
  it('starts the state machine every hour with input {}', () => {
    const { stack, template } = byDefault;
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { Ref: logicalId(stack, stack.stateMachine.stateMachine) },
          Input: '{}',
          RoleArn: Match.anyValue(),
        }),
      ],
    });
  });

  it('takes its expression from context and can be disabled', () => {
    const { template } = synth({ 'sender-sync:schedule': 'cron(0/30 * * * ? *)', 'sender-sync:scheduleEnabled': 'false' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0/30 * * * ? *)', State: 'DISABLED' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 23 * * ? *)', State: 'DISABLED' });
  });

  it('starts the same state machine once a day at 23:00 UTC in warmup mode, input {"mode":"warmup"}', () => {
    const { stack, template } = byDefault;
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 23 * * ? *)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { Ref: logicalId(stack, stack.stateMachine.stateMachine) },
          Input: '{"mode":"warmup"}',
          RoleArn: Match.anyValue(),
          DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
        }),
      ],
    });
  });

  it('takes the warmup hour from context (sender-sync:warmupHour), 0-23', () => {
    const { template } = synth({ 'sender-sync:warmupHour': '5' });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 5 * * ? *)',
      Targets: [Match.objectLike({ Input: '{"mode":"warmup"}' })],
    });
    expect(() => synth({ 'sender-sync:warmupHour': '24' })).toThrow(/sender-sync:warmupHour .* must be an integer from 0 to 23/);
  });
});

describe('the state machine', () => {
  it('is STANDARD, times out after 2 h, logs ERROR without execution data, and is not traced by default', () => {
    const { template } = byDefault;
    const [[, machine]] = resources(template, 'AWS::StepFunctions::StateMachine');
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
    expect(machine.Properties.TracingConfiguration?.Enabled ?? false).toBe(false);
    expect(deployedDefinition(template, () => 'ref').TimeoutSeconds).toBe(7200);
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/SenderSync', RetentionInDays: 90 });
  });

  it('is traced and times out when context says', () => {
    const { template } = synth({ 'sender-sync:tracingEnabled': true, 'sender-sync:runTimeoutMinutes': 90 });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { TracingConfiguration: { Enabled: true } });
    template.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    expect(deployedDefinition(template, () => 'ref').TimeoutSeconds).toBe(5400);
  });

  it('deploys exactly the definition the local runner executes', () => {
    const { stack, template } = byDefault;
    const taskOfFunction = new Map<string, string>();
    const fns = stack.functions;
    for (const [task, fn] of Object.entries(fns.tasks)) {
      taskOfFunction.set(logicalId(stack, fn), task);
    }
    const deployed = deployedDefinition(template, (ref) => {
      if (ref.Ref === 'AWS::Partition') return 'aws';
      const task = taskOfFunction.get(ref['Fn::GetAtt']?.[0]);
      if (!task) throw new Error(`unexpected reference ${JSON.stringify(ref)}`);
      return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:sender-sync-${task}`;
    });
    expect(deployed).toEqual(synthesizeDefinition());
  });

  it('syncs 3 workspaces at once, or what sender-sync:mapConcurrency says', () => {
    const map = (template: Template) => deployedDefinition(template, () => 'ref').States[STATE.syncEachWorkspace];
    expect(map(byDefault.template).MaxConcurrency).toBe(3);
    expect(map(synth({ 'sender-sync:mapConcurrency': '5' }).template).MaxConcurrency).toBe(5);
  });

  it('retries every task on Lambda service errors including Lambda.TooManyRequestsException, and catches into the failure recorders', () => {
    const definition = deployedDefinition(byDefault.template, () => 'ref');
    const sync = definition.States[STATE.syncEachWorkspace].ItemProcessor.States[STATE.syncWorkspace];
    expect(sync.Retry.map((retrier: Json) => retrier.ErrorEquals)).toEqual([
      expect.arrayContaining([
        'RejectedApiKeyError',
        'BaseUrlNotFoundError',
        'WorkspaceNotFoundError',
        'InvalidInputError',
        'ConfigError',
        'MalformedPageError',
      ]),
      expect.arrayContaining([
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
      ]),
      ['States.ALL'],
    ]);
    expect(sync.Retry[0].MaxAttempts).toBe(0);
    expect(sync.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordWorkspaceFailure }]);
    for (const name of [STATE.syncEachWorkspace, STATE.finalizeJob]) {
      expect(definition.States[name].Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordRunFailure }]);
    }
    expect(definition.States[STATE.startJob].Catch.map((c: Json) => [c.ErrorEquals, c.Next])).toEqual([
      [['NotConfiguredError'], STATE.notConfigured],
      [['States.ALL'], STATE.noJobYet],
    ]);
  });

  it('ends a run whose database secret holds the placeholder at once: NotConfiguredError is not retried and ends in a Succeed state', () => {
    const definition = deployedDefinition(byDefault.template, () => 'ref');
    const tasks = [
      definition.States[STATE.startJob],
      definition.States[STATE.recordRunFailure],
      definition.States[STATE.syncEachWorkspace].ItemProcessor.States[STATE.recordWorkspaceFailure],
    ];
    for (const task of tasks) {
      const retriers = task.Retry as Json[];
      const first = retriers.findIndex(
        (retrier) => retrier.ErrorEquals.includes('NotConfiguredError') || retrier.ErrorEquals.includes('States.ALL'),
      );
      expect(retriers[first]).toMatchObject({ ErrorEquals: expect.arrayContaining(['NotConfiguredError']), MaxAttempts: 0 });
    }
    // Not a failed execution: neither ExecutionsFailed nor the status-change rule (mark-failed) sees it.
    expect(definition.States[STATE.notConfigured]).toMatchObject({ Type: 'Succeed' });
  });
});

describe('the functions', () => {
  const functions = (template: Template) =>
    resources(template, 'AWS::Lambda::Function').filter(([, fn]) => String(fn.Properties.Description ?? '').startsWith('sender-sync:'));

  it('are seven Node.js 22 functions on ARM64 with source maps, the Powertools settings and (all but the webhook receiver) the database secret', () => {
    const fns = functions(byDefault.template);
    expect(fns).toHaveLength(7);
    const receiverId = logicalId(byDefault.stack, byDefault.stack.webhooks.fn);
    const receiver = fns.find(([id]) => id === receiverId)![1];
    expect(Object.keys(receiver.Properties.Environment.Variables).filter((name) => /^(DATABASE_|JOB_NAME|RUN_TIMEOUT)/.test(name))).toEqual(
      [],
    );
    for (const [id, fn] of fns.filter(([candidate]) => candidate !== receiverId)) {
      expect(fn.Properties.Runtime, id).toBe('nodejs22.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.Handler, id).toBe('index.handler');
      expect(fn.Properties.Environment.Variables, id).toMatchObject({
        DATABASE_SECRET_ARN: expect.anything(),
        JOB_NAME: 'sender-emails-sync',
        RUN_TIMEOUT_MINUTES: '120',
        POWERTOOLS_SERVICE_NAME: 'sender-sync',
        POWERTOOLS_METRICS_NAMESPACE: 'SenderSync',
        LOG_LEVEL: 'INFO',
        NODE_OPTIONS: expect.stringMatching(/^--enable-source-maps( |$)/),
      });
    }
  });

  it('gives sync-workspace 1024 MB, 15 minutes, the API-keys secret and a sync budget well under its timeout', () => {
    const { stack, template } = imported;
    const [, sync] = functions(template).find(([id]) => id === logicalId(stack, stack.functions.tasks.syncWorkspace))!;
    expect(sync.Properties).toMatchObject({ MemorySize: 1024, Timeout: 900 });
    expect(sync.Properties.Environment.Variables).toMatchObject({
      API_KEYS_SECRET_ARN: API_KEYS_SECRET_ARN,
      DATABASE_SECRET_ARN: DATABASE_SECRET_ARN,
      SYNC_BUDGET_SECONDS: '600',
      PAGE_CONCURRENCY: '3',
      // A heap cap keeps its peak RSS flat in the workspace's size (npm run bench, item 5).
      NODE_OPTIONS: '--enable-source-maps --max-old-space-size=96',
    });
    for (const [id, fn] of functions(template).filter(([id]) => id !== logicalId(stack, stack.functions.tasks.syncWorkspace))) {
      expect(fn.Properties.Environment.Variables.API_KEYS_SECRET_ARN, id).toBeUndefined();
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS, id).toBe('--enable-source-maps');
      expect(fn.Properties.Timeout, id).toBeLessThanOrEqual(120);
      expect(fn.Properties.MemorySize, id).toBeLessThanOrEqual(256);
    }
  });

  it('run in the database VPC when context names one', () => {
    const { template } = synth({
      'sender-sync:vpcId': 'vpc-0abc',
      'sender-sync:subnetIds': 'subnet-1,subnet-2',
      'sender-sync:availabilityZones': 'eu-west-1a,eu-west-1b',
      'sender-sync:securityGroupId': 'sg-0123',
    });
    for (const [id, fn] of functions(template)) {
      expect(fn.Properties.VpcConfig, id).toEqual({ SubnetIds: ['subnet-1', 'subnet-2'], SecurityGroupIds: ['sg-0123'] });
    }
  });
});

describe('IAM', () => {
  const statements = (template: Template) =>
    resources(template, 'AWS::IAM::Policy').flatMap(([id, policy]) =>
      (policy.Properties.PolicyDocument.Statement as Json[]).map((statement) => ({ id, roles: policy.Properties.Roles, ...statement })),
    );
  const asList = (value: unknown) => (Array.isArray(value) ? value : [value]);

  it('grants no wildcard secretsmanager action and no * resource except for log delivery', () => {
    for (const { template } of [byDefault, imported]) {
      for (const statement of statements(template)) {
        for (const action of asList(statement.Action)) {
          expect(action, statement.id).not.toMatch(/^(\*|secretsmanager:\*)$/);
          expect(action, statement.id).not.toMatch(/:\*$/);
        }
        if (asList(statement.Resource).includes('*')) {
          expect(
            asList(statement.Action).every(
              (action: string) =>
                (action.startsWith('logs:') && action.endsWith('Delivery')) ||
                /^logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups|ListLogDeliveries)$/.test(action),
            ),
            statement.id,
          ).toBe(true);
        }
      }
    }
  });

  it('lets each function read only the secrets it needs', () => {
    const { stack, template } = imported;
    const secretReads = new Map<string, string[]>();
    for (const statement of statements(template)) {
      if (!asList(statement.Action).some((action: string) => action.startsWith('secretsmanager:'))) continue;
      expect(asList(statement.Action).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
      for (const role of statement.roles) {
        const key = role.Ref as string;
        secretReads.set(key, [...(secretReads.get(key) ?? []), ...asList(statement.Resource)].sort());
      }
    }
    const roleOf = (fn: { role?: unknown }) => logicalId(stack, (fn as Json).role);
    const fns = stack.functions;
    expect(secretReads.get(roleOf(fns.tasks.syncWorkspace))).toEqual([API_KEYS_SECRET_ARN, DATABASE_SECRET_ARN].sort());
    for (const fn of [fns.tasks.startJob, fns.tasks.finalizeJob, fns.tasks.markFailed, fns.migrate]) {
      expect(secretReads.get(roleOf(fn))).toEqual([DATABASE_SECRET_ARN]);
    }
    const webhookSecret = stack.resolve(stack.webhooks.webhookSecret.secretArn);
    expect(secretReads.get(roleOf(stack.webhooks.fn))).toEqual([webhookSecret]);
    expect(secretReads.get(roleOf(stack.webhooks.applier))).toEqual([DATABASE_SECRET_ARN]);
    expect(secretReads.size).toBe(7);
  });

  it('creates the two secrets empty when no ARN is given', () => {
    const { template } = byDefault;
    // The webhook token's secret is test/infra/webhooks.test.ts's.
    const secrets = resources(template, 'AWS::SecretsManager::Secret').filter(([id]) => id.startsWith('Secrets'));
    expect(secrets).toHaveLength(2);
    const templates = secrets.map(([, secret]) => JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate));
    expect(templates).toContainEqual({ host: 'REPLACE_ME', port: 5432, username: 'REPLACE_ME', dbname: 'postgres' });
    expect(templates).toContainEqual({});
    expect(resources(imported.template, 'AWS::SecretsManager::Secret').filter(([id]) => id.startsWith('Secrets'))).toHaveLength(0);
  });

  it('keeps the created secrets when the stack is deleted or a change replaces them', () => {
    const secrets = resources(byDefault.template, 'AWS::SecretsManager::Secret');
    expect(secrets.map(([, secret]) => [secret.DeletionPolicy, secret.UpdateReplacePolicy])).toEqual([
      ['Retain', 'Retain'],
      ['Retain', 'Retain'],
      ['Retain', 'Retain'],
    ]);
  });
});

describe('undelivered events', () => {
  const { stack, template } = byDefault;
  const all = template.toJSON().Resources as Record<string, Json>;

  it('give every EventBridge target a dead-letter queue (the two schedules, sync and warmup, share theirs)', () => {
    const rules = resources(template, 'AWS::Events::Rule');
    expect(rules).toHaveLength(3);
    const queues = rules.flatMap(([, rule]) =>
      (rule.Properties.Targets as Json[]).map((target) => target.DeadLetterConfig?.Arn?.['Fn::GetAtt']?.[0]),
    );
    expect(queues.every((id) => all[id]?.Type === 'AWS::SQS::Queue')).toBe(true);
    expect(new Set(queues).size).toBe(2);
  });

  it("send mark-failed's failed asynchronous invocations to a queue after two retries", () => {
    const configs = resources(template, 'AWS::Lambda::EventInvokeConfig');
    expect(configs).toHaveLength(1);
    const [[, config]] = configs;
    expect(config.Properties).toMatchObject({
      FunctionName: { Ref: logicalId(stack, stack.functions.tasks.markFailed) },
      MaximumRetryAttempts: 2,
      Qualifier: '$LATEST',
    });
    expect(all[config.Properties.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0]].Type).toBe('AWS::SQS::Queue');
  });

  it('keep their queues encrypted and reachable only over TLS', () => {
    for (const [id, queue] of resources(template, 'AWS::SQS::Queue')) {
      expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      const [[, policy]] = resources(template, 'AWS::SQS::QueuePolicy').filter(([, p]) =>
        p.Properties.Queues.some((q: Json) => q.Ref === id),
      );
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});

describe('failed runs', () => {
  it("sends this state machine's FAILED, TIMED_OUT and ABORTED status changes to mark-failed, raw", () => {
    const { stack, template } = byDefault;
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [{ Ref: logicalId(stack, stack.stateMachine.stateMachine) }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack, stack.functions.tasks.markFailed), 'Arn'] },
          Input: Match.absent(),
          InputPath: Match.absent(),
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(stack, stack.functions.tasks.markFailed), 'Arn'] },
    });
  });
});

describe('migrations on deploy', () => {
  it.each([
    ["with the stack's own database secret", byDefault],
    ['with an imported database secret', imported],
  ])('run the migrate function in a trigger before the state machine and the task functions (%s)', (_, { stack, template }) => {
    const triggers = resources(template, 'Custom::Trigger');
    expect(triggers).toHaveLength(1);
    const [[triggerId, trigger]] = triggers;
    expect(trigger.Properties).toMatchObject({ InvocationType: 'RequestResponse', ExecuteOnHandlerChange: true });
    const [[versionId, version]] = resources(template, 'AWS::Lambda::Version');
    expect(version.Properties.FunctionName).toEqual({ Ref: logicalId(stack, stack.functions.migrate) });
    expect(trigger.Properties.HandlerArn).toEqual({ Ref: versionId });
    const all = template.toJSON().Resources as Record<string, Json>;
    const [[, machine]] = Object.entries(all).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(machine.DependsOn).toContain(triggerId);
    const fns = stack.functions;
    for (const fn of Object.values(fns.tasks)) {
      expect(all[logicalId(stack, fn)].DependsOn, fn.node.id).toContain(triggerId);
    }
    expect(all[logicalId(stack, fns.migrate)].DependsOn ?? []).not.toContain(triggerId);
  });

  it("run on every deploy: the deploy id and the migrations' hash are properties of the trigger", () => {
    const trigger = (context: Record<string, unknown>, deployId: string) => {
      const { stack } = buildApp({
        context: { 'aws:cdk:bundling-stacks': [], ...context },
        nag: false,
        cloudFormationValidation: false,
        outdir: tempDir('cdk.out-'),
        deployId,
      });
      return resources(Template.fromStack(stack), 'Custom::Trigger')[0]?.[1].Properties;
    };
    const first = trigger({}, 'deploy-1');
    const next = trigger({}, 'deploy-2');
    expect(first).toMatchObject({ DeployId: 'deploy-1', MigrationsSha256: migrationsHash(path.join(PROJECT_ROOT, 'migrations')) });
    expect(first.MigrationsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(next).toMatchObject({ DeployId: 'deploy-2', MigrationsSha256: first.MigrationsSha256 });
    expect(trigger({ 'sender-sync:migrateOnDeploy': false }, 'deploy-3')).toBeUndefined();
  });

  it('hashes the migrations by name and content', () => {
    const dir = tempDir('migrations-');
    writeFileSync(path.join(dir, '001_a.sql'), 'select 1;');
    const before = migrationsHash(dir);
    writeFileSync(path.join(dir, '002_b.sql'), 'select 2;');
    const added = migrationsHash(dir);
    writeFileSync(path.join(dir, '002_b.sql'), 'select 3;');
    expect(new Set([before, added, migrationsHash(dir)]).size).toBe(3);
  });

  it("keep the trigger provider's logs for the stack's retention", () => {
    const all = byDefault.template.toJSON().Resources as Record<string, Json>;
    const providers = Object.entries(all).filter(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('AWSCDKTriggerCustomResourceProvider'),
    );
    expect(providers).toHaveLength(1);
    const logGroup = providers[0][1].Properties.LoggingConfig.LogGroup.Ref;
    expect(all[logGroup]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 90 } });
  });
});

describe('alarms', () => {
  const { stack, template } = byDefault;
  const stateMachineRef = { Ref: logicalId(stack, stack.stateMachine.stateMachine) };
  const topicRef = { Ref: logicalId(stack, stack.node.findChild('AlarmTopic').node.findChild('Topic') as Json) };
  const alarms = resources(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
  const find = (metricName: string, dimensions?: Json) =>
    alarms.filter(
      (alarm) => alarm.MetricName === metricName && (!dimensions || JSON.stringify(alarm.Dimensions) === JSON.stringify(dimensions)),
    );

  it.each([['ExecutionsFailed'], ['ExecutionsTimedOut'], ['ExecutionsAborted'], ['ExecutionThrottled']])(
    'alarm on AWS/States %s of this state machine at 1 or more',
    (metricName) => {
      expect(find(metricName)).toEqual([
        expect.objectContaining({
          Namespace: 'AWS/States',
          Dimensions: [{ Name: 'StateMachineArn', Value: stateMachineRef }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        }),
      ]);
    },
  );

  it('never uses the CDK-only name ExecutionsThrottled', () => {
    expect(find('ExecutionsThrottled')).toEqual([]);
  });

  it('alarms when an execution runs longer than the threshold', () => {
    expect(find('ExecutionTime')).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/States',
        Dimensions: [{ Name: 'StateMachineArn', Value: stateMachineRef }],
        Statistic: 'Maximum',
        Threshold: 60 * 60_000,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      }),
    ]);
    const custom = synth({ 'sender-sync:executionTimeAlarmMinutes': 45 }).template;
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionTime', Threshold: 45 * 60_000 });
  });

  it('alarms when any workspace failed in a run (the EMF metric)', () => {
    expect(find('WorkspacesFailed')).toEqual([
      expect.objectContaining({
        Namespace: 'SenderSync',
        Dimensions: [{ Name: 'service', Value: 'sender-sync' }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      }),
    ]);
  });

  it('alarms when runs started in each of N hours and none completed, quiet while none starts', () => {
    const noSuccess = alarms.filter((alarm) => alarm.AlarmDescription.startsWith('Runs started in each of the last'));
    expect(noSuccess).toHaveLength(1);
    const [alarm] = noSuccess;
    expect(alarm).toMatchObject({
      EvaluationPeriods: 6,
      DatapointsToAlarm: 6,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    const byId = Object.fromEntries((alarm.Metrics as Json[]).map((metric) => [metric.Id, metric]));
    expect(byId.started.MetricStat).toEqual({
      Metric: {
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsStarted',
        Dimensions: [{ Name: 'StateMachineArn', Value: stateMachineRef }],
      },
      Period: 3600,
      Stat: 'Sum',
    });
    for (const [id, metricName] of [
      ['succeeded', 'SuccessfulRuns'],
      ['notConfigured', 'NotConfigured'],
    ]) {
      expect(byId[id].MetricStat).toEqual({
        Metric: { Namespace: 'SenderSync', MetricName: metricName, Dimensions: [{ Name: 'service', Value: 'sender-sync' }] },
        Period: 3600,
        Stat: 'Sum',
      });
    }
    const [expression] = (alarm.Metrics as Json[]).filter((metric) => metric.ReturnData !== false);
    expect(expression.Expression).toBe('IF(FILL(started, 0) > FILL(notConfigured, 0) AND FILL(succeeded, 0) == 0, 1, 0)');
    const custom = resources(synth({ 'sender-sync:noSuccessAlarmHours': 3 }).template, 'AWS::CloudWatch::Alarm').map(
      ([, a]) => a.Properties,
    );
    expect(custom.filter((a) => a.Metrics).map((a) => [a.EvaluationPeriods, a.DatapointsToAlarm])).toEqual([[3, 3]]);
  });

  it('alarms once while the database secret holds the placeholder, and holds that state between runs', () => {
    expect(find('NotConfigured')).toEqual([
      expect.objectContaining({
        Namespace: 'SenderSync',
        Dimensions: [{ Name: 'service', Value: 'sender-sync' }],
        Statistic: 'Maximum',
        Period: 3600,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'ignore',
      }),
    ]);
  });

  it('alarms while Start job defers workspaces, saying what the instance needs and what to raise (issue 22 item 6)', () => {
    const [alarm] = find('InstanceMinutesNeeded');
    expect(find('InstanceMinutesNeeded')).toHaveLength(1);
    expect(alarm).toMatchObject({
      Namespace: 'SenderSync',
      Dimensions: [{ Name: 'service', Value: 'sender-sync' }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
    });
    expect(alarm.AlarmDescription).toContain('this instance needs N min at 3 req/s: raise EMAILBISON_MAX_RPS or the interval');
    const custom = resources(synth({ 'sender-sync:emailbisonMaxRps': 5 }).template, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .find((a) => a.MetricName === 'InstanceMinutesNeeded');
    expect(custom.AlarmDescription).toContain('needs N min at 5 req/s');
  });

  it('alarms on any message in a dead-letter or on-failure queue', () => {
    // Every queue but the webhook intake, whose messages are work, not failures (its age alarm: test/infra/webhooks.test.ts).
    const intakeId = logicalId(stack, stack.webhooks.queue);
    const queues = resources(template, 'AWS::SQS::Queue').filter(([id]) => id !== intakeId);
    expect(queues).toHaveLength(4);
    const depth = find('ApproximateNumberOfMessagesVisible');
    expect(depth.map((alarm) => alarm.Dimensions[0].Value['Fn::GetAtt'][0]).sort()).toEqual(queues.map(([id]) => id).sort());
    for (const alarm of depth) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms on Throttles of each of the five functions, and on Errors only of the one the state machine does not call', () => {
    // The webhook receiver is not called by the state machine either (its alarms: test/infra/webhooks.test.ts).
    expect(
      find('Errors')
        .map((alarm) => alarm.Dimensions[0].Value.Ref)
        .sort(),
    ).toEqual(
      [logicalId(stack, stack.functions.migrate), logicalId(stack, stack.webhooks.fn), logicalId(stack, stack.webhooks.applier)].sort(),
    );
    const fns = stack.functions.all;
    for (const metricName of ['Throttles']) {
      const found = find(metricName);
      expect(found).toHaveLength(5);
      const functionNames = found.map((alarm) => {
        expect(alarm).toMatchObject({
          Namespace: 'AWS/Lambda',
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
        expect(alarm.Dimensions).toHaveLength(1);
        expect(alarm.Dimensions[0].Name).toBe('FunctionName');
        return alarm.Dimensions[0].Value.Ref;
      });
      expect(functionNames.sort()).toEqual(fns.map((fn) => logicalId(stack, fn)).sort());
    }
  });

  it('notify the topic and say what they mean and what to do', () => {
    // + 1: WorkspacesDeferred (issue 22 item 6); + 3: the webhook intake's applier errors, dead letters, backlog (issue 19); + 1: DigestsNotPublished (issue 19 item 2).
    expect(alarms).toHaveLength(17 - 4 + 1 + 3 + 2 + 1 + 3 + 1);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions, alarm.MetricName).toEqual([topicRef]);
      expect(alarm.AlarmDescription.length, alarm.MetricName).toBeGreaterThan(80);
    }
  });

  it('go to an encrypted topic, with an e-mail subscription when context gives an address', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    expect(resources(template, 'AWS::SNS::Subscription')).toHaveLength(0);
    synth({ 'sender-sync:alarmEmail': 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('outputs', () => {
  it('give the state machine ARN, its console link and the alarm topic ARN', () => {
    const { stack, template } = byDefault;
    const machine = { Ref: logicalId(stack, stack.stateMachine.stateMachine) };
    template.hasOutput('StateMachineArn', { Value: machine });
    template.hasOutput('StateMachineConsoleUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: 'AWS::Region' },
            '.console.aws.amazon.com/states/home?region=',
            { Ref: 'AWS::Region' },
            '#/statemachines/view/',
            machine,
          ],
        ],
      },
    });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: Match.stringLikeRegexp('^AlarmTopic') } });
    template.hasOutput('DatabaseSecretArn', { Value: { Ref: Match.stringLikeRegexp('^SecretsDatabase') } });
    template.hasOutput('ApiKeysSecretArn', { Value: { Ref: Match.stringLikeRegexp('^SecretsApiKeys') } });
  });
});
