import { Annotations, Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import path from 'node:path';
import { lambdaEnvironment } from '../lambdas/config/settings';
import { isSupabaseDirectHost, SUPABASE_DIRECT_HOST_ADVICE } from '../lambdas/db/client';
import { SyncAlarms } from './alarms';
import type { StackConfig } from './config';
import { FailedRunRecorder, SyncSchedule } from './events';
import { MIGRATE_TIMEOUT, SyncFunctions } from './functions';
import { MigrationsOnDeploy } from './migrations';
import { DatabaseNetwork } from './network';
import { AlarmTopic, ChangesTopic } from './notifications';
import { SyncSecrets } from './secrets';
import { SyncStateMachine } from './state-machine';
import { WebhookReceiver } from './webhooks';

export interface SenderSyncStackProps extends StackProps {
  config: StackConfig;
  /** The repository root (Lambda entries, package-lock.json, migrations/). */
  projectRoot: string;
  /** Different on every synthesis: the migration trigger runs on every deploy. */
  deployId: string;
}

/** Wires the sender-sync constructs together; each one owns its concern. */
export class SenderSyncStack extends Stack {
  readonly functions: SyncFunctions;
  readonly stateMachine: SyncStateMachine;
  readonly webhooks: WebhookReceiver;

  constructor(scope: Construct, id: string, props: SenderSyncStackProps) {
    super(scope, id, props);
    const { config } = props;

    const secrets = new SyncSecrets(this, 'Secrets', {
      databaseSecretArn: config.databaseSecretArn,
      apiKeysSecretArn: config.apiKeysSecretArn,
    });
    const network = config.vpc ? new DatabaseNetwork(this, 'Network', config.vpc) : undefined;

    this.functions = new SyncFunctions(this, 'Functions', {
      projectRoot: props.projectRoot,
      databaseSecret: secrets.database,
      apiKeysSecret: secrets.apiKeys,
      network,
      database: {
        ssl: config.databaseSsl,
        host: config.databaseHost,
        port: config.databasePort,
        name: config.databaseName,
        caBundle: config.databaseCaBundle,
        poolMode: config.databasePoolMode,
      },
      jobName: config.jobName,
      runTimeoutMinutes: config.runTimeoutMinutes,
      syncBudgetSeconds: config.syncBudgetSeconds,
      pageConcurrency: config.pageConcurrency,
      emailbisonPagination: config.emailbisonPagination,
      emailbisonMaxRps: config.emailbisonMaxRps,
      schedule: config.schedule,
      warmupScoreDropPoints: config.warmupScoreDropPoints,
      warmupScoreFloor: config.warmupScoreFloor,
      logLevel: config.logLevel,
      logRetentionDays: config.logRetentionDays,
      tracingEnabled: config.tracingEnabled,
    });
    const fns = this.functions;
    const alarmTopic = new AlarmTopic(this, 'AlarmTopic', { email: config.alarmEmail });
    if (!config.alarmEmail) {
      Annotations.of(this).addWarningV2(
        'sender-sync:noAlarmEmail',
        'No alarm e-mail configured (sender-sync:alarmEmail): alarms reach the SNS topic (stack output AlarmTopicArn) and nobody is told. ' +
          'Set it in cdk.json or with `cdk deploy -c sender-sync:alarmEmail=ops@example.com`, or subscribe an endpoint to the topic.',
      );
    }
    // The account changes: Finalize job's run digest (Mark failed's, for a run that broke) and the webhooks' batched news.
    const changesTopic = new ChangesTopic(this, 'ChangesTopic', { email: config.changesEmail });
    this.webhooks = new WebhookReceiver(this, 'Webhooks', {
      functions: fns,
      alarmTopic: alarmTopic.topic,
      changesTopic: changesTopic.topic,
      applierMaxConcurrency: config.webhookApplierMaxConcurrency,
      receiverReservedConcurrency: config.webhookReceiverReservedConcurrency,
    });
    if (config.secretsKmsKeyArn) {
      // An imported secret encrypted with a customer-managed key: reading it needs kms:Decrypt, only via Secrets Manager.
      for (const fn of [...fns.all, this.webhooks.fn, this.webhooks.applier]) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [config.secretsKmsKeyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
          }),
        );
      }
    }

    this.stateMachine = new SyncStateMachine(this, 'StateMachine', {
      functions: fns.tasks,
      mapConcurrency: config.mapConcurrency,
      runTimeout: Duration.minutes(config.runTimeoutMinutes),
      tracingEnabled: config.tracingEnabled,
      logRetentionDays: config.logRetentionDays,
    });
    const stateMachine = this.stateMachine.stateMachine;

    if (config.migrateOnDeploy) {
      new MigrationsOnDeploy(this, 'Migrations', {
        migrate: fns.migrate,
        // New task code and the definition only go live once the schema they expect exists.
        before: [this.stateMachine, ...Object.values(fns.tasks), this.webhooks.fn, this.webhooks.applier],
        migrateTimeout: MIGRATE_TIMEOUT,
        migrationsDir: path.join(props.projectRoot, 'migrations'),
        deployId: props.deployId,
        logRetentionDays: config.logRetentionDays,
      });
    } else {
      Annotations.of(this).addInfo(
        'Migrations are not applied on deploy (sender-sync:migrateOnDeploy=false): run `npm run migrate` after each deploy that adds one.',
      );
    }

    const schedule = new SyncSchedule(this, 'Schedule', {
      stateMachine,
      schedule: config.schedule,
      enabled: config.scheduleEnabled,
      warmupHour: config.warmupHour,
    });
    const recorder = new FailedRunRecorder(this, 'FailedRunRecorder', { stateMachine, markFailed: fns.tasks.markFailed });

    new SyncAlarms(this, 'Alarms', {
      stateMachine,
      topic: alarmTopic.topic,
      functions: fns.named.map(({ name, fn }) => ({ name, fn, calledByStateMachine: fn !== fns.migrate })),
      queues: [schedule.undelivered, recorder.undelivered, recorder.unhandled],
      executionTimeAlarmMinutes: config.executionTimeAlarmMinutes,
      noSuccessAlarmHours: config.noSuccessAlarmHours,
      emailbisonMaxRps: config.emailbisonMaxRps,
    });

    // The run digest: Finalize job publishes it when accounts disconnected or were removed (Mark failed, for a run that broke).
    for (const fn of [fns.tasks.finalizeJob, fns.tasks.markFailed]) {
      changesTopic.grantPublish(fn);
      for (const [name, value] of Object.entries(lambdaEnvironment({ changesTopicArn: changesTopic.topic.topicArn }))) {
        fn.addEnvironment(name, value);
      }
    }

    if (config.databaseHost && isSupabaseDirectHost(config.databaseHost)) {
      Annotations.of(this).addWarningV2('sender-sync:supabaseDirectHost', `sender-sync:databaseHost: ${SUPABASE_DIRECT_HOST_ADVICE}`);
    }
    if (config.databaseSsl === 'verify-full' && !config.databaseCaBundle) {
      Annotations.of(this).addInfo(
        "DATABASE_SSL=verify-full without sender-sync:databaseCaBundle trusts Node's public roots only: RDS and Supabase certificates need their CA (databaseCaBundle=rds, or a PEM path).",
      );
    }

    if (network) {
      new CfnOutput(this, 'LambdaSecurityGroupId', {
        description: 'Security group of the Lambdas: allow it on the database port in the database security group',
        value: network.securityGroup.securityGroupId,
      });
    }

    new CfnOutput(this, 'StateMachineArn', {
      description: "Start a run by hand: aws stepfunctions start-execution --state-machine-arn <this> --input '{}'",
      value: stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'StateMachineConsoleUrl', {
      description: 'The state machine and its executions in the Step Functions console',
      value: `https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/statemachines/view/${stateMachine.stateMachineArn}`,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic every alarm notifies; subscribe more endpoints to it',
      value: alarmTopic.topic.topicArn,
    });
    new CfnOutput(this, 'ChangesTopicArn', {
      description: 'SNS topic of the run digests (accounts disconnected or removed since the previous run); subscribe to it',
      value: changesTopic.topic.topicArn,
    });
    new CfnOutput(this, 'DatabaseSecretArn', {
      description: secrets.created.database
        ? 'Created empty: fill in {"host","port","username","password","dbname"}'
        : 'Imported database secret',
      value: secrets.database.secretArn,
    });
    new CfnOutput(this, 'ApiKeysSecretArn', {
      description: secrets.created.apiKeys ? 'Created empty: fill in {"<workspace name>": "<api key>", ...}' : 'Imported API-keys secret',
      value: secrets.apiKeys.secretArn,
    });
  }
}
