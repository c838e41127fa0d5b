import { describe, expect, it } from 'vitest';
import { readStackConfig } from '../../infra/config';
import { StackConfigError } from '../../lambdas/errors';

const read = (context: Record<string, unknown>) => readStackConfig((key) => context[key]);

describe('readStackConfig', () => {
  it('has a default for every setting an operator does not have to give', () => {
    expect(read({})).toEqual({
      schedule: 'rate(1 hour)',
      scheduleEnabled: true,
      warmupHour: 23,
      mapConcurrency: 3,
      webhookApplierMaxConcurrency: 2,
      webhookReceiverReservedConcurrency: 0,
      runTimeoutMinutes: 120,
      tracingEnabled: false,
      databaseSecretArn: undefined,
      apiKeysSecretArn: undefined,
      migrateOnDeploy: true,
      vpc: undefined,
      databaseSsl: undefined,
      databaseHost: undefined,
      databasePort: undefined,
      databaseName: undefined,
      databasePoolMode: 'auto',
      databaseCaBundle: undefined,
      secretsKmsKeyArn: undefined,
      alarmEmail: undefined,
      changesEmail: undefined,
      executionTimeAlarmMinutes: 60,
      noSuccessAlarmHours: 6,
      jobName: 'sender-emails-sync',
      syncBudgetSeconds: 600,
      pageConcurrency: 3,
      logLevel: 'INFO',
      logRetentionDays: 90,
      emailbisonPagination: 'auto',
      emailbisonMaxRps: 3,
      warmupScoreDropPoints: 10,
      warmupScoreFloor: 50,
    });
  });

  it('reads strings as `cdk synth -c key=value` passes them', () => {
    const config = read({
      'sender-sync:scheduleEnabled': 'false',
      'sender-sync:mapConcurrency': '5',
      'sender-sync:tracingEnabled': 'TRUE',
      'sender-sync:logLevel': 'debug',
      'sender-sync:vpcId': 'vpc-0abc',
      'sender-sync:subnetIds': 'subnet-1, subnet-2',
      'sender-sync:availabilityZones': 'eu-west-1a,eu-west-1b',
    });
    expect(config).toMatchObject({
      scheduleEnabled: false,
      mapConcurrency: 5,
      tracingEnabled: true,
      logLevel: 'DEBUG',
      vpc: {
        vpcId: 'vpc-0abc',
        subnetIds: ['subnet-1', 'subnet-2'],
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        securityGroupId: undefined,
        subnetsRouteToInternet: false,
        createSecretsManagerEndpoint: false,
      },
    });
  });

  it('applies migrations on deploy whether or not the database secret is imported, unless told not to', () => {
    const databaseSecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf';
    expect(read({}).migrateOnDeploy).toBe(true);
    expect(read({ 'sender-sync:databaseSecretArn': databaseSecretArn }).migrateOnDeploy).toBe(true);
    expect(read({ 'sender-sync:migrateOnDeploy': false }).migrateOnDeploy).toBe(false);
  });

  it('reports every wrong setting in one error', () => {
    let error: unknown;
    try {
      read({
        'sender-sync:schedule': 'every hour',
        'sender-sync:mapConcurrency': 0,
        'sender-sync:databaseSecretArn': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db',
        'sender-sync:subnetIds': 'subnet-1',
        'sender-sync:logRetentionDays': 10,
        'sender-sync:executionTimeAlarmMinutes': 200,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    const message = (error as Error).message;
    expect(message).toContain('sender-sync:schedule');
    expect(message).toContain('sender-sync:mapConcurrency');
    expect(message).toContain('complete ARN');
    expect(message).toContain('need sender-sync:vpcId');
    expect(message).toContain('sender-sync:logRetentionDays');
    expect(message).toContain('must be below sender-sync:runTimeoutMinutes');
  });

  it('wants one availability zone per subnet', () => {
    expect(() =>
      read({
        'sender-sync:vpcId': 'vpc-0abc',
        'sender-sync:subnetIds': 'subnet-1,subnet-2',
        'sender-sync:availabilityZones': 'eu-west-1a',
      }),
    ).toThrow(/one zone per subnet/);
  });
});
