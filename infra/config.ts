import type { SslMode } from '../lambdas/db/client';
import {
  SETTINGS,
  type ContextSettingName,
  type DatabasePoolModeSetting,
  type EmailBisonPagination,
  type LogLevel,
  type Setting,
  type SettingValue,
} from '../lambdas/config/settings';
import { StackConfigError } from '../lambdas/errors';
import type { DatabaseNetworkProps } from './network';

/*
 * The stack's settings, read from CDK context (cdk.json or `cdk synth -c key=value`)
 * through the one settings table (lambdas/config/settings.ts), which the Lambdas' own
 * loadConfig reads too: a value the stack accepts, its Lambdas accept. All wrong
 * values are reported at once. Constructs get the typed result as props and never
 * read context or process.env.
 */

export interface StackConfig {
  /** EventBridge schedule expression of the sync. */
  schedule: string;
  scheduleEnabled: boolean;
  /** UTC hour (0-23) the daily warmup pass starts, with input {"mode": "warmup"}. */
  warmupHour: number;
  /** Workspaces synced at once (the Map state's MaxConcurrency). */
  mapConcurrency: number;
  /** The webhook applier's event source mapping's maximum concurrency (its Postgres connections). */
  webhookApplierMaxConcurrency: number;
  /** Reserved concurrency of the webhook receiver; 0: none. */
  webhookReceiverReservedConcurrency: number;
  /** Execution timeout of the state machine; also how old a `running` job must be before a new run may take its lock. */
  runTimeoutMinutes: number;
  tracingEnabled: boolean;
  /** Complete ARNs of existing secrets; when absent the stack creates empty ones to fill in. */
  databaseSecretArn?: string;
  apiKeysSecretArn?: string;
  /** Apply migrations on every deploy (a CDK trigger; it skips, and says so, while the database secret holds the placeholder). Default true. */
  migrateOnDeploy: boolean;
  vpc?: DatabaseNetworkProps;
  /** TLS to Postgres; default verify-full with a CA bundle, else the Lambdas' own default (require). */
  databaseSsl?: SslMode;
  /** Where Postgres is, over what the database secret says (an RDS-managed secret says nothing of it). */
  databaseHost?: string;
  databasePort?: number;
  databaseName?: string;
  /** auto, session or transaction: how the Lambdas treat their connections (lambdas/db/pool-mode.ts). */
  databasePoolMode: DatabasePoolModeSetting;
  /** `rds`: the Lambda runtime's Amazon CAs; otherwise a PEM file relative to the repository root, shipped with the Lambdas. */
  databaseCaBundle?: string;
  /** Customer-managed KMS key of the imported secrets: the functions that read them may decrypt with it. */
  secretsKmsKeyArn?: string;
  alarmEmail?: string;
  /** Subscribed by e-mail to the ChangesTopic (run digests). */
  changesEmail?: string;
  /** An execution running longer than this pages someone. */
  executionTimeAlarmMinutes: number;
  /** No completed run for this many hours pages someone. */
  noSuccessAlarmHours: number;
  jobName: string;
  /** Time a sync-workspace invocation works before it returns a cursor (well under its 900 s timeout). */
  syncBudgetSeconds: number;
  /** Pages requested at once per workspace. */
  pageConcurrency: number;
  logLevel: LogLevel;
  logRetentionDays: number;
  /** Passed to sync-workspace, for the EmailBison client (next issue). */
  emailbisonPagination: EmailBisonPagination;
  /** Passed to sync-workspace, for the EmailBison client (next issue). 0 = no cap. */
  emailbisonMaxRps: number;
  /** Passed to Finalize job: the warmup health its digest reports (lambdas/health). */
  warmupScoreDropPoints: number;
  warmupScoreFloor: number;
}

const PREFIX = 'sender-sync:';

/** Reads the stack's settings from context; `tryGetContext` is `node.tryGetContext` of the app. */
export function readStackConfig(tryGetContext: (key: string) => unknown): StackConfig {
  const problems: string[] = [];
  const read = <K extends ContextSettingName>(name: K): SettingValue<K> | undefined => {
    const setting = SETTINGS[name] as Setting<SettingValue<K>>;
    const key = PREFIX + setting.context;
    const raw = tryGetContext(key);
    if (raw === undefined || raw === null || raw === '') return setting.default;
    try {
      return setting.parse(raw);
    } catch (error) {
      problems.push(`${key} (${setting.describe}) must be ${(error as Error).message}; got ${JSON.stringify(raw)}`);
      return setting.default;
    }
  };

  const vpcId = read('vpcId');
  const subnetIds = read('subnetIds');
  const availabilityZones = read('availabilityZones');
  const securityGroupId = read('securityGroupId');
  const subnetsRouteToInternet = read('subnetsRouteToInternet')!;
  const createSecretsManagerEndpoint = read('createSecretsManagerEndpoint')!;
  let vpc: StackConfig['vpc'];
  if (vpcId) {
    if (!subnetIds) problems.push(`${PREFIX}subnetIds is required with ${PREFIX}vpcId`);
    if (!availabilityZones) problems.push(`${PREFIX}availabilityZones is required with ${PREFIX}vpcId`);
    if (subnetIds && availabilityZones && subnetIds.length !== availabilityZones.length) {
      problems.push(
        `${PREFIX}availabilityZones must name one zone per subnet (${subnetIds.length} subnets, ${availabilityZones.length} zones)`,
      );
    }
    // An interface endpoint takes one subnet per availability zone.
    if (createSecretsManagerEndpoint && availabilityZones && new Set(availabilityZones).size !== availabilityZones.length) {
      problems.push(
        `${PREFIX}createSecretsManagerEndpoint needs subnets in distinct availability zones (an interface endpoint takes one subnet per zone)`,
      );
    }
    vpc = {
      vpcId,
      subnetIds: subnetIds ?? [],
      availabilityZones: availabilityZones ?? [],
      securityGroupId,
      subnetsRouteToInternet,
      createSecretsManagerEndpoint,
    };
  } else if (subnetIds || availabilityZones || securityGroupId || subnetsRouteToInternet || createSecretsManagerEndpoint) {
    problems.push(
      `${PREFIX}subnetIds, availabilityZones, securityGroupId, subnetsRouteToInternet and createSecretsManagerEndpoint need ${PREFIX}vpcId`,
    );
  }

  const databaseCaBundle = read('databaseCaBundle');
  const databaseSsl = read('databaseSsl') ?? (databaseCaBundle ? 'verify-full' : undefined);
  if (databaseCaBundle && databaseSsl !== 'verify-full') {
    problems.push(`${PREFIX}databaseCaBundle only verifies with ${PREFIX}databaseSsl=verify-full (got ${databaseSsl})`);
  }
  const secretsKmsKeyArn = read('secretsKmsKeyArn');

  const databaseSecretArn = read('importedDatabaseSecretArn');
  const config: StackConfig = {
    schedule: read('schedule')!,
    scheduleEnabled: read('scheduleEnabled')!,
    warmupHour: read('warmupHour')!,
    mapConcurrency: read('mapConcurrency')!,
    webhookApplierMaxConcurrency: read('webhookApplierMaxConcurrency')!,
    webhookReceiverReservedConcurrency: read('webhookReceiverReservedConcurrency')!,
    runTimeoutMinutes: read('runTimeoutMinutes')!,
    tracingEnabled: read('tracingEnabled')!,
    databaseSecretArn,
    apiKeysSecretArn: read('importedApiKeysSecretArn'),
    migrateOnDeploy: read('migrateOnDeploy')!,
    vpc,
    databaseSsl,
    databaseHost: read('databaseHost'),
    databasePort: read('databasePort'),
    databaseName: read('databaseName'),
    databasePoolMode: read('databasePoolMode')!,
    databaseCaBundle,
    secretsKmsKeyArn,
    alarmEmail: read('alarmEmail'),
    changesEmail: read('changesEmail'),
    executionTimeAlarmMinutes: read('executionTimeAlarmMinutes')!,
    noSuccessAlarmHours: read('noSuccessAlarmHours')!,
    jobName: read('jobName')!,
    syncBudgetSeconds: read('syncBudgetSeconds')!,
    pageConcurrency: read('pageConcurrency')!,
    logLevel: read('logLevel')!,
    logRetentionDays: read('logRetentionDays')!,
    emailbisonPagination: read('emailbisonPagination')!,
    emailbisonMaxRps: read('emailbisonMaxRps')!,
    warmupScoreDropPoints: read('warmupScoreDropPoints')!,
    warmupScoreFloor: read('warmupScoreFloor')!,
  };
  if (config.executionTimeAlarmMinutes >= config.runTimeoutMinutes) {
    problems.push(
      `${PREFIX}executionTimeAlarmMinutes (${config.executionTimeAlarmMinutes}) must be below ${PREFIX}runTimeoutMinutes (${config.runTimeoutMinutes}), or the run times out before the alarm can warn`,
    );
  }
  if (secretsKmsKeyArn && !config.databaseSecretArn && !config.apiKeysSecretArn) {
    problems.push(
      `${PREFIX}secretsKmsKeyArn applies to imported secrets: set ${PREFIX}databaseSecretArn and/or ${PREFIX}apiKeysSecretArn (the created ones use the AWS-managed key)`,
    );
  }
  if (problems.length > 0) throw new StackConfigError(`Invalid sender-sync context:\n  - ${problems.join('\n  - ')}`);
  return config;
}
