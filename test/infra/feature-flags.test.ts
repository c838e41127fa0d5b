import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp, PROJECT_ROOT } from '../../infra/build-app';
import { tempDir } from '../helpers/cleanup';

/*
 * cdk.json sets every feature flag `cdk init` sets today (aws-cdk-lib's
 * recommended-feature-flags.json). A flag may change how a resource is named; these
 * tests show none of them replaces a resource whose replacement loses data or alarms:
 * a secret (its value), a log group (its history), the alarm topic (its subscriptions)
 * or its key.
 */
const cdkJson = JSON.parse(readFileSync(`${PROJECT_ROOT}/cdk.json`, 'utf8')) as { context: Record<string, unknown> };
const recommended = JSON.parse(readFileSync(`${PROJECT_ROOT}/node_modules/aws-cdk-lib/recommended-feature-flags.json`, 'utf8')) as Record<
  string,
  unknown
>;
const isFlag = (key: string) => key.startsWith('@aws-cdk');
const KEPT_TYPES = ['AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup', 'AWS::SNS::Topic', 'AWS::KMS::Key'];

/** The logical ids of the kept types before the flags were set (aws-cdk-lib 2.276, no flag in cdk.json). */
const BEFORE_FLAGS = {
  // The webhook secret came after the flags: the single token of issue 15 (WebhooksToken…), then, on purpose, a new
  // master secret (issue 19: that token was in every subscription URL, so it must not become the secret every token derives from).
  'AWS::SecretsManager::Secret': ['SecretsApiKeys7AB8F12A', 'SecretsDatabase1766CB05', 'WebhooksSecret14C8806E'],
  // Finalize job's log group was FunctionsRecordResultLogs6D29E448 until the last step got one name (nothing deployed yet).
  'AWS::Logs::LogGroup': [
    'FunctionsFinalizeJobLogs0F0C10D2',
    'FunctionsMarkFailedLogsB1BF4793',
    'FunctionsMigrateLogsC75297F0',
    'FunctionsStartJobLogsE70A7ACA',
    'FunctionsSyncWorkspaceLogsCEA03A80',
    // Added with the webhook applier (issue 19), after the flags.
    'FunctionsWebhookApplierLogs99AA0BE3',
    // Added with the webhook receiver (issue 15), after the flags.
    'FunctionsWebhookReceiverLogs32F131E5',
    // Added with the migration trigger's provider log retention (issue 13), after the flags.
    'MigrationsProviderLogs4FBD500B',
    'StateMachineLogs5A6F0DF5',
  ],
  // The ChangesTopic came with issue 15, after the flags.
  'AWS::SNS::Topic': ['AlarmTopicC2164170', 'ChangesTopicE26D5042'],
  'AWS::KMS::Key': ['AlarmTopicKeyBA1A4AA7'],
};

const WITH_VPC = {
  'sender-sync:vpcId': 'vpc-0abc',
  'sender-sync:subnetIds': 'subnet-1',
  'sender-sync:availabilityZones': 'eu-west-1a',
  'sender-sync:migrateOnDeploy': true,
};

function keptIds(context: Record<string, unknown>): Record<string, string[]> {
  const { stack } = buildApp({
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
    nag: false,
    cloudFormationValidation: false,
    outdir: tempDir('cdk.out-flags-'),
  });
  const ids: Record<string, string[]> = {};
  for (const type of KEPT_TYPES) ids[type] = Object.keys(Template.fromStack(stack).findResources(type)).sort();
  return ids;
}

const withoutFlags = (context: Record<string, unknown>) => Object.fromEntries(Object.entries(context).filter(([key]) => !isFlag(key)));

describe('CDK feature flags', () => {
  it('cdk.json sets each flag cdk init sets, to its recommended value', () => {
    const set = Object.fromEntries(Object.entries(cdkJson.context).filter(([key]) => isFlag(key)));
    expect(set).toEqual(recommended);
  });

  it.each([
    ['as configured', {}],
    ['with a VPC and migrations on deploy', WITH_VPC],
  ])('replace no secret, log group, topic or key (%s)', (_, extra) => {
    const after = keptIds({ ...cdkJson.context, ...extra });
    expect(after).toEqual(keptIds({ ...withoutFlags(cdkJson.context), ...extra }));
    expect(after).toEqual(BEFORE_FLAGS);
  });
});
