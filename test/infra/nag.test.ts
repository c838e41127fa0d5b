import { Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app';

/*
 * cdk-nag's AwsSolutions pack runs at synth (registered by buildApp, as `cdk synth`
 * does); every finding must be fixed or acknowledged with a reason.
 */

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Finding {
  plugin: string;
  rule: string;
  severity: string;
  paths: string[];
}

function synthWithNag(context: Record<string, unknown>, tamper?: (stack: IConstruct) => void, env?: { account: string; region: string }) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'sender-sync-nag-'));
  outdirs.push(outdir);
  const { app, stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...context }, outdir, cloudFormationValidation: false, env });
  tamper?.(stack);
  try {
    app.synth();
  } catch (error) {
    // Synthesis throws once any plugin reports a violation; the report says which.
    if (!(error instanceof Error) || !error.message.includes('validation-report.json')) throw error;
  }
  const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  const findings: Finding[] = report.pluginReports.flatMap((plugin: any) =>
    plugin.violations.map((violation: any) => ({
      plugin: plugin.pluginName,
      rule: violation.ruleName,
      severity: violation.severity,
      paths: violation.violatingConstructs.map((construct: any) => construct.constructPath),
    })),
  );
  return { stack, findings };
}

const CONFIGURATIONS: Record<string, Record<string, unknown>> = {
  'the defaults (secrets created, no VPC, no migrations on deploy)': {},
  'everything on (imported secrets, migrations trigger, VPC with a created security group, X-Ray, e-mail)': {
    'sender-sync:databaseSecretArn': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf',
    'sender-sync:apiKeysSecretArn': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/api-keys-GhIjKl',
    'sender-sync:vpcId': 'vpc-0abc',
    'sender-sync:subnetIds': 'subnet-1,subnet-2',
    'sender-sync:availabilityZones': 'eu-west-1a,eu-west-1b',
    'sender-sync:subnetsRouteToInternet': true,
    'sender-sync:createSecretsManagerEndpoint': true,
    'sender-sync:secretsKmsKeyArn': 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'sender-sync:databaseCaBundle': 'rds',
    'sender-sync:tracingEnabled': true,
    'sender-sync:alarmEmail': 'ops@example.com',
  },
  'a VPC with an existing security group': {
    'sender-sync:migrateOnDeploy': true,
    'sender-sync:vpcId': 'vpc-0abc',
    'sender-sync:subnetIds': 'subnet-1',
    'sender-sync:availabilityZones': 'eu-west-1a',
    'sender-sync:securityGroupId': 'sg-0123',
  },
};

describe('cdk-nag AwsSolutions', () => {
  it.each(Object.entries(CONFIGURATIONS))('leaves no unacknowledged error or warning with %s', (_name, context) => {
    const { findings } = synthWithNag(context);
    expect(findings).toEqual([]);
  });

  // `cdk synth` knows the account and region (CDK_DEFAULT_*): some grants only widen then,
  // e.g. CDK's topic.grantPublish on an alias-encrypted topic adds kms:* on key/*.
  it("leaves no finding when synthesized as `cdk synth` does: for an account and region, with cdk.json's context", () => {
    const cdkJson = JSON.parse(readFileSync(path.join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    // With an alarm e-mail: without one, synth warns on purpose (test/infra/alarm-topic.test.ts).
    const context = { ...cdkJson.context, 'sender-sync:alarmEmail': 'ops@example.com' };
    const { findings } = synthWithNag(context, undefined, { account: '123456789012', region: 'us-east-1' });
    expect(findings).toEqual([]);
  });

  it('does report a finding nobody acknowledged (the check is really running)', () => {
    const { findings } = synthWithNag({}, (stack) => new sns.Topic(stack, 'UnencryptedTopic'));
    expect(findings).toContainEqual(
      expect.objectContaining({ plugin: 'AwsSolutions', rule: 'AwsSolutions-SNS3', paths: ['SenderSync/UnencryptedTopic/Resource'] }),
    );
  });

  it('gives every acknowledgement a reason', () => {
    const { stack } = synthWithNag(
      CONFIGURATIONS['everything on (imported secrets, migrations trigger, VPC with a created security group, X-Ray, e-mail)'],
    );
    const acknowledgements = stack.node
      .findAll()
      .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(5);
    for (const [rule, reason] of acknowledgements) expect(reason.length, rule).toBeGreaterThan(40);
  });
});
