import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app';
import { readStackConfig } from '../../infra/config';
import { LAMBDA_RUNTIME_CA_FILE, SHIPPED_CA_FILE } from '../../infra/functions';
import { tempDir } from '../helpers/cleanup';

/* VPC routes, the Secrets Manager endpoint, KMS-encrypted imported secrets and Postgres TLS, as the template says them. */

const DATABASE_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf';
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const VPC = {
  'sender-sync:vpcId': 'vpc-0abc',
  'sender-sync:subnetIds': 'subnet-1,subnet-2',
  'sender-sync:availabilityZones': 'eu-west-1a,eu-west-1b',
  'sender-sync:migrateOnDeploy': true,
};

function synth(context: Record<string, unknown>) {
  const { stack } = buildApp({
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    nag: false,
    cloudFormationValidation: false,
    outdir: tempDir('cdk.out-'),
  });
  return { stack, template: Template.fromStack(stack), annotations: Annotations.fromStack(stack) };
}

type Json = any;
/** The functions that open Postgres: every one but the webhook receiver, which only queues. */
const functions = (template: Template): Json[] =>
  Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (fn: Json) =>
      String(fn.Properties.Description ?? '').startsWith('sender-sync:') &&
      fn.Properties.Environment.Variables.DATABASE_SECRET_ARN !== undefined,
  );

describe('a VPC deploy', () => {
  it('warns that the subnets need a NAT route (EmailBison) and Secrets Manager a route or an endpoint, until told', () => {
    const { annotations } = synth(VPC);
    const [warning] = annotations.findWarning('*', Match.stringLikeRegexp('NAT gateway'));
    expect(warning.entry.data).toContain('sync-workspace calls EmailBison');
    expect(warning.entry.data).toContain('createSecretsManagerEndpoint');

    const withEndpoint = synth({ ...VPC, 'sender-sync:createSecretsManagerEndpoint': true }).annotations.findWarning(
      '*',
      Match.stringLikeRegexp('NAT gateway'),
    );
    expect(withEndpoint).toHaveLength(1);
    expect(withEndpoint[0].entry.data).not.toContain('Secrets Manager');

    const told = { ...VPC, 'sender-sync:subnetsRouteToInternet': true, 'sender-sync:alarmEmail': 'ops@example.com' };
    expect(synth(told).annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('outputs the security group of the Lambdas, created or given', () => {
    const created = synth(VPC);
    const [[groupId]] = Object.entries(created.template.findResources('AWS::EC2::SecurityGroup'));
    created.template.hasOutput('LambdaSecurityGroupId', { Value: { 'Fn::GetAtt': [groupId, 'GroupId'] } });
    synth({ ...VPC, 'sender-sync:securityGroupId': 'sg-0123' }).template.hasOutput('LambdaSecurityGroupId', { Value: 'sg-0123' });
    expect(synth({}).template.findOutputs('LambdaSecurityGroupId')).toEqual({});
  });

  it('creates a Secrets Manager interface endpoint with private DNS in the subnets, open on 443 to the Lambdas only', () => {
    const { template } = synth({ ...VPC, 'sender-sync:createSecretsManagerEndpoint': true, 'sender-sync:subnetsRouteToInternet': true });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.secretsmanager']] },
      PrivateDnsEnabled: true,
      SubnetIds: ['subnet-1', 'subnet-2'],
      VpcId: 'vpc-0abc',
    });
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const lambdaGroup = Object.keys(groups).find((id) => id.startsWith('NetworkSecurityGroup'))!;
    const endpointGroup = Object.entries(groups).find(([id]) => id !== lambdaGroup)!;
    // No ingress from anywhere else (open: false), one rule from the Lambdas' group on 443.
    expect(endpointGroup[1].Properties.SecurityGroupIngress ?? []).toEqual([]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      GroupId: { 'Fn::GetAtt': [endpointGroup[0], 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [lambdaGroup, 'GroupId'] },
    });
    expect(synth(VPC).template.findResources('AWS::EC2::VPCEndpoint')).toEqual({});
  });

  it('refuses an endpoint over two subnets of one zone, and VPC options without a VPC', () => {
    const read = (context: Record<string, unknown>) => () => readStackConfig((key) => context[key]);
    expect(
      read({ ...VPC, 'sender-sync:availabilityZones': 'eu-west-1a,eu-west-1a', 'sender-sync:createSecretsManagerEndpoint': 'true' }),
    ).toThrow(/distinct availability zones/);
    expect(read({ 'sender-sync:createSecretsManagerEndpoint': 'true' })).toThrow(/need sender-sync:vpcId/);
  });
});

describe('an imported secret encrypted with a customer-managed KMS key', () => {
  it('lets every function that reads it decrypt with that key, through Secrets Manager only', () => {
    const { template } = synth({ 'sender-sync:databaseSecretArn': DATABASE_SECRET_ARN, 'sender-sync:secretsKmsKeyArn': KEY_ARN });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Json[];
    const decrypting = policies.filter((policy) =>
      policy.Properties.PolicyDocument.Statement.some(
        (statement: Json) => [statement.Action].flat().includes('kms:Decrypt') && statement.Resource === KEY_ARN,
      ),
    );
    // The four tasks, the migrate function and the webhook applier read the database secret, the receiver the token secret.
    expect(decrypting).toHaveLength(7);
    const [statement] = decrypting[0].Properties.PolicyDocument.Statement.filter((s: Json) => s.Resource === KEY_ARN);
    expect(statement.Condition).toEqual({
      StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
    });
  });

  it('grants no key without one, and refuses one for created secrets', () => {
    const { template } = synth({ 'sender-sync:databaseSecretArn': DATABASE_SECRET_ARN });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('kms:Decrypt');
    expect(() => readStackConfig((key) => ({ 'sender-sync:secretsKmsKeyArn': KEY_ARN })[key])).toThrow(/applies to imported secrets/);
  });
});

describe('Postgres TLS and place', () => {
  it("verify-full with databaseCaBundle=rds points every function at the runtime's Amazon CA file", () => {
    for (const fn of functions(synth({ 'sender-sync:databaseCaBundle': 'rds' }).template)) {
      expect(fn.Properties.Environment.Variables).toMatchObject({ DATABASE_SSL: 'verify-full', DATABASE_CA_FILE: LAMBDA_RUNTIME_CA_FILE });
    }
  });

  it('a PEM in the repository is shipped in each bundle and named by DATABASE_CA_FILE; a missing one fails synth', () => {
    const pem = path.join(tempDir('ss-ca-'), 'supabase-ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    for (const fn of functions(synth({ 'sender-sync:databaseCaBundle': pem }).template)) {
      expect(fn.Properties.Environment.Variables).toMatchObject({ DATABASE_SSL: 'verify-full', DATABASE_CA_FILE: SHIPPED_CA_FILE });
    }
    expect(() => synth({ 'sender-sync:databaseCaBundle': 'certs/absent.pem' })).toThrow(/absent\.pem does not exist/);
    expect(() => readStackConfig((key) => ({ 'sender-sync:databaseCaBundle': 'rds', 'sender-sync:databaseSsl': 'require' })[key])).toThrow(
      /only verifies with/,
    );
  });

  it('sends no DATABASE_SSL by default (the Lambdas require TLS without verifying)', () => {
    for (const fn of functions(synth({}).template)) expect(fn.Properties.Environment.Variables).not.toHaveProperty('DATABASE_SSL');
  });

  it('gives an RDS-managed secret its host, port and database, and warns about a Supabase direct host', () => {
    const { template, annotations } = synth({
      'sender-sync:databaseHost': 'db.abcdefghij.supabase.co',
      'sender-sync:databasePort': 5432,
      'sender-sync:databaseName': 'postgres',
    });
    for (const fn of functions(template)) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        DATABASE_HOST: 'db.abcdefghij.supabase.co',
        DATABASE_PORT: '5432',
        DATABASE_NAME: 'postgres',
      });
    }
    expect(annotations.findWarning('*', Match.stringLikeRegexp('IPv6-only'))).toHaveLength(1);
  });
});
