import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app';
import { tempDir } from '../helpers/cleanup';

/*
 * Issue 19 item 1: every topic an alarm notifies lets CloudWatch publish. A topic policy
 * (enforceSSL writes one) replaces SNS's default policy, so without an Allow of its own an
 * alarm goes to ALARM and its history reads "not authorized to perform SNS:Publish". The
 * check follows the template as CloudFormation would: from each alarm's actions to the
 * topic, its TopicPolicy, its KmsMasterKeyId and that key's KeyPolicy, resolving Refs,
 * GetAtts and Joins (pseudo parameters become <account>, <region>, <partition>).
 */

type Json = any;

function synth(context: Record<string, unknown> = {}) {
  const { stack } = buildApp({
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    nag: false,
    cloudFormationValidation: false,
    outdir: tempDir('cdk.out-alarm-topic-'),
  });
  return { stack, template: Template.fromStack(stack) };
}

const PSEUDO: Record<string, string> = { 'AWS::AccountId': '<account>', 'AWS::Region': '<region>', 'AWS::Partition': '<partition>' };
const ALARM_ARNS = 'arn:<partition>:cloudwatch:<region>:<account>:alarm:*';

/** A template value as a string: `ref:<id>`, `getatt:<id>.<attribute>`, pseudo parameters as placeholders, joins joined. */
function resolve(value: Json): Json {
  if (typeof value === 'string' || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(resolve);
  if ('Ref' in value) return PSEUDO[value.Ref] ?? `ref:${value.Ref}`;
  if ('Fn::GetAtt' in value) return `getatt:${value['Fn::GetAtt'][0]}.${value['Fn::GetAtt'][1]}`;
  if ('Fn::Join' in value) return (resolve(value['Fn::Join'][1]) as string[]).join(value['Fn::Join'][0]);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
}

const list = (value: Json): Json[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function allowsCloudWatch(statement: Json, actions: string[]): boolean {
  if (statement.Effect !== 'Allow') return false;
  if (!list(statement.Principal?.Service).includes('cloudwatch.amazonaws.com')) return false;
  const granted = list(statement.Action);
  return actions.every((action) => granted.includes(action));
}

/** What stops CloudWatch alarms from publishing to the topic, in words; [] when nothing does. */
function alarmTopicProblems(templateJson: Json, topicId: string): string[] {
  const resources = templateJson.Resources as Record<string, Json>;
  const topic = resources[topicId];
  if (topic?.Type !== 'AWS::SNS::Topic') return [`${topicId} is not an SNS topic of this template`];
  const problems: string[] = [];

  const policies = Object.values(resources).filter(
    (r) => r.Type === 'AWS::SNS::TopicPolicy' && list(resolve(r.Properties.Topics)).includes(`ref:${topicId}`),
  );
  const statements = policies.flatMap((policy) => list(resolve(policy.Properties.PolicyDocument).Statement));
  if (policies.length > 0) {
    const allow = statements.filter(
      (s) => allowsCloudWatch(s, ['sns:Publish']) && list(s.Resource).some((r) => r === `ref:${topicId}` || r === '*'),
    );
    if (allow.length === 0) problems.push(`${topicId}: its topic policy has no Allow of sns:Publish for cloudwatch.amazonaws.com`);
    for (const s of allow) {
      if (s.Condition?.StringEquals?.['aws:SourceAccount'] !== '<account>') {
        problems.push(`${topicId}: the topic policy's CloudWatch Allow has no aws:SourceAccount condition of this account`);
      }
      const sourceArn = s.Condition?.ArnLike?.['aws:SourceArn'] ?? s.Condition?.ArnEquals?.['aws:SourceArn'];
      if (sourceArn !== ALARM_ARNS) {
        problems.push(`${topicId}: the topic policy's CloudWatch Allow has no aws:SourceArn condition of ${ALARM_ARNS}`);
      }
    }
    // A Deny would win over the Allow; the only one allowed is enforceSSL's, which CloudWatch (TLS) never meets.
    for (const s of statements.filter((statement) => statement.Effect === 'Deny')) {
      if (s.Condition?.Bool?.['aws:SecureTransport'] !== 'false')
        problems.push(`${topicId}: its topic policy denies more than plain-HTTP requests`);
    }
  }

  const key = resolve(topic.Properties.KmsMasterKeyId);
  if (key !== undefined) {
    const keyId = /^(?:ref:|getatt:)([^.]+)(?:\.Arn)?$/.exec(String(key))?.[1];
    if (!keyId || resources[keyId]?.Type !== 'AWS::KMS::Key') {
      problems.push(`${topicId}: encrypted with ${key}, a key whose policy this stack cannot give CloudWatch (alias/aws/sns refuses it)`);
    } else {
      const keyStatements = list(resolve(resources[keyId].Properties.KeyPolicy).Statement);
      const allow = keyStatements.filter((s) => allowsCloudWatch(s, ['kms:Decrypt', 'kms:GenerateDataKey*']));
      if (allow.length === 0) problems.push(`${topicId}: its key ${keyId} does not let cloudwatch.amazonaws.com use it`);
      for (const s of allow) {
        if (s.Condition?.StringEquals?.['aws:SourceAccount'] !== '<account>') {
          problems.push(`${topicId}: the key policy's CloudWatch statement has no aws:SourceAccount condition of this account`);
        }
      }
    }
  }
  return problems;
}

/** Every topic any alarm notifies (AlarmActions, OKActions, InsufficientDataActions), by logical id. */
function alarmTopicIds(templateJson: Json): string[] {
  const alarms = Object.values(templateJson.Resources as Record<string, Json>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  const actions = alarms.flatMap((alarm) =>
    ['AlarmActions', 'OKActions', 'InsufficientDataActions'].flatMap((field) => list(resolve(alarm.Properties[field]))),
  );
  return [...new Set(actions)].map((action) => {
    const id = /^ref:(.+)$/.exec(String(action))?.[1];
    if (!id) throw new Error(`an alarm action that is not a topic of this template: ${action}`);
    return id;
  });
}

const { stack, template } = synth({ 'sender-sync:alarmEmail': 'ops@example.com' });
const templateJson = template.toJSON();
const alarmTopics = alarmTopicIds(templateJson);

describe('the topics alarms notify', () => {
  it('are topics of this stack, named by every alarm', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(10);
    for (const alarm of alarms) expect(list(alarm.Properties.AlarmActions).length).toBeGreaterThan(0);
    expect(alarmTopics.length).toBeGreaterThan(0);
    for (const id of alarmTopics) expect(templateJson.Resources[id].Type).toBe('AWS::SNS::Topic');
  });

  it.each(alarmTopics)(
    "%s: its topic policy lets this account's alarms publish, and its key lets CloudWatch use it, both with source conditions",
    (topicId) => {
      expect(alarmTopicProblems(templateJson, topicId)).toEqual([]);
      const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy')).filter((p) =>
        list(p.Properties.Topics).some((t: Json) => t.Ref === topicId),
      );
      expect(policy.Properties.PolicyDocument.Statement).toHaveLength(2);
    },
  );

  it('the check fails on the topic as main left it (one Deny and no Allow), on a missing condition, and on the AWS-managed key', () => {
    const [topicId] = alarmTopics;
    const mutate = (change: (copy: Json) => void) => {
      const copy = structuredClone(templateJson);
      change(copy);
      return alarmTopicProblems(copy, topicId);
    };
    const policyOf = (copy: Json) =>
      Object.values(copy.Resources as Record<string, Json>).find(
        (r) => r.Type === 'AWS::SNS::TopicPolicy' && list(r.Properties.Topics).some((t: Json) => t.Ref === topicId),
      );
    const cloudWatchStatement = (statements: Json[]) =>
      statements.find((s) => list(s.Principal?.Service).includes('cloudwatch.amazonaws.com'));

    expect(
      mutate((copy) => {
        const doc = policyOf(copy).Properties.PolicyDocument;
        doc.Statement = doc.Statement.filter((s: Json) => s.Effect === 'Deny');
      }),
    ).toEqual([`${topicId}: its topic policy has no Allow of sns:Publish for cloudwatch.amazonaws.com`]);
    expect(
      mutate((copy) => {
        delete cloudWatchStatement(policyOf(copy).Properties.PolicyDocument.Statement).Condition.ArnLike;
      }),
    ).toEqual([`${topicId}: the topic policy's CloudWatch Allow has no aws:SourceArn condition of ${ALARM_ARNS}`]);
    expect(
      mutate((copy) => {
        const keyId = copy.Resources[topicId].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
        delete cloudWatchStatement(copy.Resources[keyId].Properties.KeyPolicy.Statement).Condition;
      }),
    ).toEqual([`${topicId}: the key policy's CloudWatch statement has no aws:SourceAccount condition of this account`]);
    expect(
      mutate((copy) => {
        copy.Resources[topicId].Properties.KmsMasterKeyId = 'alias/aws/sns';
      }),
    ).toEqual([
      `${topicId}: encrypted with alias/aws/sns, a key whose policy this stack cannot give CloudWatch (alias/aws/sns refuses it)`,
    ]);
  });

  it('the alarm topic policy is written as expected', () => {
    const topicId = stack.resolve((stack.node.findChild('AlarmTopic').node.findChild('Topic').node.defaultChild as Json).logicalId);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
          }),
        ]),
      },
    });
  });
});

describe('the alarm e-mail', () => {
  it('synth warns when none is configured, and not when one is', () => {
    const warnings = Annotations.fromStack(synth().stack).findWarning('*', Match.stringLikeRegexp('No alarm e-mail configured'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].entry.data).toContain('sender-sync:alarmEmail');
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('No alarm e-mail'))).toEqual([]);
  });
});

describe('the publish-failure alarm', () => {
  it('pages on any digest SNS did not take, on the metric the Lambdas emit', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.MetricName === 'DigestsNotPublished',
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0].Properties).toMatchObject({
      Namespace: 'SenderSync',
      Dimensions: [{ Name: 'service', Value: 'sender-sync' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarmTopicIds({ Resources: { alarm: alarms[0] } })).toEqual(alarmTopics);
  });
});
