import { StackConfigError } from '../lambdas/errors';

/*
 * Every setting the stack takes from CDK context (cdk.json or `cdk synth -c key=value`),
 * validated in one place, with its default, and reported all at once when wrong.
 * Constructs get the typed result as props and never read context or process.env.
 */

export interface StackConfig {
  /** EventBridge schedule expression of the sync. */
  schedule: string;
  scheduleEnabled: boolean;
  /** Workspaces synced at once (the Map state's MaxConcurrency). */
  mapConcurrency: number;
  /** Execution timeout of the state machine; also how old a `running` job must be before a new run may take its lock. */
  runTimeoutMinutes: number;
  tracingEnabled: boolean;
  /** Complete ARNs of existing secrets; when absent the stack creates empty ones to fill in. */
  databaseSecretArn?: string;
  apiKeysSecretArn?: string;
  /** Apply migrations on deploy (a CDK trigger). Default: only when the database secret is imported (a created one is empty on first deploy). */
  migrateOnDeploy: boolean;
  vpc?: { vpcId: string; subnetIds: string[]; availabilityZones: string[]; securityGroupId?: string };
  alarmEmail?: string;
  /** An execution running longer than this pages someone. */
  executionTimeAlarmMinutes: number;
  /** No completed run for this many hours pages someone. */
  noSuccessAlarmHours: number;
  jobName: string;
  /** Time a sync-workspace invocation works before it returns a cursor (well under its 900 s timeout). */
  syncBudgetSeconds: number;
  /** Pages requested at once per workspace. */
  pageConcurrency: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  logRetentionDays: number;
}

const PREFIX = 'sender-sync:';

type Raw = unknown;
type Parser<T> = (raw: Raw) => T;

interface Setting<T> {
  key: string;
  default?: T;
  parse: Parser<T>;
  describe: string;
}

const text: Parser<string> = (raw) => {
  if (typeof raw !== 'string' || raw.trim() === '') throw new Error('a non-empty string');
  return raw.trim();
};
const integer = (min: number, max: number): Parser<number> => (raw) => {
  const value = typeof raw === 'string' ? Number(raw.trim()) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new Error(`an integer from ${min} to ${max}`);
  return value;
};
const bool: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) return raw.trim().toLowerCase() === 'true';
  throw new Error('true or false');
};
const list: Parser<string[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : undefined;
  const values = items?.map((item) => item.trim()).filter(Boolean);
  if (!values || values.length === 0) throw new Error('a comma-separated list');
  return values;
};
const matching = (pattern: RegExp, what: string): Parser<string> => (raw) => {
  const value = text(raw);
  if (!pattern.test(value)) throw new Error(what);
  return value;
};
const oneOf = <T extends string>(...values: T[]): Parser<T> => (raw) => {
  const value = text(raw).toUpperCase();
  if (!(values as string[]).includes(value)) throw new Error(`one of ${values.join(', ')}`);
  return value as T;
};

// CloudWatch Logs accepts only these retention periods.
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

export const SETTINGS = {
  schedule: { key: 'schedule', default: 'rate(1 hour)', parse: matching(/^(rate|cron)\(.+\)$/, 'rate(...) or cron(...)'), describe: 'EventBridge schedule expression' },
  scheduleEnabled: { key: 'scheduleEnabled', default: true, parse: bool, describe: 'whether the schedule starts runs' },
  mapConcurrency: { key: 'mapConcurrency', default: 3, parse: integer(1, 40), describe: 'workspaces synced at once' },
  runTimeoutMinutes: { key: 'runTimeoutMinutes', default: 120, parse: integer(5, 24 * 60), describe: 'execution timeout in minutes' },
  tracingEnabled: { key: 'tracingEnabled', default: false, parse: bool, describe: 'X-Ray tracing of the state machine and Lambdas' },
  databaseSecretArn: { key: 'databaseSecretArn', parse: matching(SECRET_ARN, 'the complete ARN of a Secrets Manager secret (ending in -XXXXXX)'), describe: 'database secret' },
  apiKeysSecretArn: { key: 'apiKeysSecretArn', parse: matching(SECRET_ARN, 'the complete ARN of a Secrets Manager secret (ending in -XXXXXX)'), describe: 'API-keys secret' },
  migrateOnDeploy: { key: 'migrateOnDeploy', parse: bool, describe: 'apply migrations on deploy' },
  vpcId: { key: 'vpcId', parse: matching(/^vpc-[0-9a-f]+$/, 'a VPC id (vpc-...)'), describe: 'VPC of the database' },
  subnetIds: { key: 'subnetIds', parse: list, describe: 'subnets for the Lambdas' },
  availabilityZones: { key: 'availabilityZones', parse: list, describe: 'availability zones of those subnets' },
  securityGroupId: { key: 'securityGroupId', parse: matching(/^sg-[0-9a-f]+$/, 'a security group id (sg-...)'), describe: 'security group for the Lambdas' },
  alarmEmail: { key: 'alarmEmail', parse: matching(/^[^@\s]+@[^@\s]+$/, 'an e-mail address'), describe: 'where alarms are e-mailed' },
  executionTimeAlarmMinutes: { key: 'executionTimeAlarmMinutes', default: 60, parse: integer(1, 24 * 60), describe: 'execution time alarm threshold' },
  noSuccessAlarmHours: { key: 'noSuccessAlarmHours', default: 6, parse: integer(1, 24), describe: 'hours without a completed run before alarming' },
  jobName: { key: 'jobName', default: 'sender-emails-sync', parse: text, describe: 'job_name of the polling_job_status rows' },
  syncBudgetSeconds: { key: 'syncBudgetSeconds', default: 600, parse: integer(60, 780), describe: 'seconds a sync invocation works before returning a cursor' },
  pageConcurrency: { key: 'pageConcurrency', default: 3, parse: integer(1, 20), describe: 'pages requested at once per workspace' },
  logLevel: { key: 'logLevel', default: 'INFO' as StackConfig['logLevel'], parse: oneOf<StackConfig['logLevel']>('DEBUG', 'INFO', 'WARN', 'ERROR'), describe: 'Lambda log level' },
  logRetentionDays: {
    key: 'logRetentionDays',
    default: 90,
    parse: (raw: Raw) => {
      const days = integer(1, 3653)(raw);
      if (!RETENTION_DAYS.includes(days)) throw new Error(`one of ${RETENTION_DAYS.join(', ')}`);
      return days;
    },
    describe: 'days logs are kept',
  },
} satisfies Record<string, Setting<unknown>>;


/** Reads the stack's settings from context; `tryGetContext` is `node.tryGetContext` of the app. */
export function readStackConfig(tryGetContext: (key: string) => unknown): StackConfig {
  const problems: string[] = [];
  const read = <T>(setting: Setting<T>): T | undefined => {
    const raw = tryGetContext(PREFIX + setting.key);
    if (raw === undefined || raw === null || raw === '') return setting.default;
    try {
      return setting.parse(raw);
    } catch (error) {
      problems.push(`${PREFIX}${setting.key} (${setting.describe}) must be ${(error as Error).message}; got ${JSON.stringify(raw)}`);
      return setting.default;
    }
  };

  const vpcId = read(SETTINGS.vpcId);
  const subnetIds = read(SETTINGS.subnetIds);
  const availabilityZones = read(SETTINGS.availabilityZones);
  const securityGroupId = read(SETTINGS.securityGroupId);
  let vpc: StackConfig['vpc'];
  if (vpcId) {
    if (!subnetIds) problems.push(`${PREFIX}subnetIds is required with ${PREFIX}vpcId`);
    if (!availabilityZones) problems.push(`${PREFIX}availabilityZones is required with ${PREFIX}vpcId`);
    if (subnetIds && availabilityZones && subnetIds.length !== availabilityZones.length) {
      problems.push(`${PREFIX}availabilityZones must name one zone per subnet (${subnetIds.length} subnets, ${availabilityZones.length} zones)`);
    }
    vpc = { vpcId, subnetIds: subnetIds ?? [], availabilityZones: availabilityZones ?? [], securityGroupId };
  } else if (subnetIds || availabilityZones || securityGroupId) {
    problems.push(`${PREFIX}subnetIds, availabilityZones and securityGroupId need ${PREFIX}vpcId`);
  }

  const databaseSecretArn = read(SETTINGS.databaseSecretArn);
  const config: StackConfig = {
    schedule: read(SETTINGS.schedule)!,
    scheduleEnabled: read(SETTINGS.scheduleEnabled)!,
    mapConcurrency: read(SETTINGS.mapConcurrency)!,
    runTimeoutMinutes: read(SETTINGS.runTimeoutMinutes)!,
    tracingEnabled: read(SETTINGS.tracingEnabled)!,
    databaseSecretArn,
    apiKeysSecretArn: read(SETTINGS.apiKeysSecretArn),
    migrateOnDeploy: read(SETTINGS.migrateOnDeploy) ?? databaseSecretArn !== undefined,
    vpc,
    alarmEmail: read(SETTINGS.alarmEmail),
    executionTimeAlarmMinutes: read(SETTINGS.executionTimeAlarmMinutes)!,
    noSuccessAlarmHours: read(SETTINGS.noSuccessAlarmHours)!,
    jobName: read(SETTINGS.jobName)!,
    syncBudgetSeconds: read(SETTINGS.syncBudgetSeconds)!,
    pageConcurrency: read(SETTINGS.pageConcurrency)!,
    logLevel: read(SETTINGS.logLevel)!,
    logRetentionDays: read(SETTINGS.logRetentionDays)!,
  };
  if (config.executionTimeAlarmMinutes >= config.runTimeoutMinutes) {
    problems.push(
      `${PREFIX}executionTimeAlarmMinutes (${config.executionTimeAlarmMinutes}) must be below ${PREFIX}runTimeoutMinutes (${config.runTimeoutMinutes}), or the run times out before the alarm can warn`,
    );
  }
  if (problems.length > 0) throw new StackConfigError(`Invalid sender-sync context:\n  - ${problems.join('\n  - ')}`);
  return config;
}
