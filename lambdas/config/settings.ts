import type { SslMode } from '../db/client';

/*
 * Every setting of sender-sync, once: the environment variable the Lambdas (and the CLI
 * and the local runner) read, the CDK context key the stack reads, the default, the
 * bounds and the parser. loadConfig (lambdas/config/load-config.ts) reads the `env`
 * ones, readStackConfig (infra/config.ts) the `context` ones, and the stack writes a
 * setting it shares with the Lambdas into their environment with lambdaEnvironment(),
 * so both sides accept exactly the same values. Settings with neither are options of
 * the EmailBison client only code passes (lambdas/emailbison/options.ts).
 */

/** The Powertools service name and metrics namespace: the Lambdas emit under them and the alarms watch them. */
export const SERVICE_NAME = 'sender-sync';
export const METRICS_NAMESPACE = 'SenderSync';
/** 1 when a Lambda found the database secret still holding the stack's placeholder, 0 when Start job found it filled in. */
export const NOT_CONFIGURED_METRIC = 'NotConfigured';
/** Start job: workspaces deferred to the next run, and the minutes the slowest such instance needs at its cap (lambdas/jobs/plan-run.ts). */
export const DEFERRED_METRIC = 'WorkspacesDeferred';
export const NEEDED_MINUTES_METRIC = 'InstanceMinutesNeeded';
/** 1 for each digest of account changes (a run's or the webhooks') that SNS did not take: the people it was for were not told. */
export const DIGEST_NOT_PUBLISHED_METRIC = 'DigestsNotPublished';

/** Turns an environment string or a context value into the setting's value; throws an Error saying what it must be. */
export type Parser<T> = (raw: unknown) => T;

export interface Setting<T> {
  /** Environment variable of the Lambdas, the CLI and the local runner. */
  env?: string;
  /** CDK context key, after `sender-sync:` (cdk.json or `cdk synth -c`). */
  context?: string;
  default?: T;
  parse: Parser<T>;
  describe: string;
}

const text: Parser<string> = (raw) => {
  if (typeof raw !== 'string' || raw.trim() === '') throw new Error('a non-empty string');
  return raw.trim();
};
const number = (raw: unknown) => (typeof raw === 'string' ? Number(raw.trim()) : raw);
const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const value = number(raw);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new Error(`an integer from ${min} to ${max}`);
    return value;
  };
const decimal =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const value = number(raw);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
      throw new Error(`a number from ${min} to ${max}`);
    return value;
  };
const bool: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw.trim())) return true;
  if (typeof raw === 'string' && /^(0|false|no|off)$/i.test(raw.trim())) return false;
  throw new Error('true or false');
};
const list: Parser<string[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : undefined;
  const values = items?.map((item) => item.trim()).filter(Boolean);
  if (!values || values.length === 0) throw new Error('a comma-separated list');
  return values;
};
const matching =
  (pattern: RegExp, what: string): Parser<string> =>
  (raw) => {
    const value = text(raw);
    if (!pattern.test(value)) throw new Error(what);
    return value;
  };
/** Case-insensitive; the value comes back as listed. */
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    const given = text(raw).toLowerCase();
    const value = values.find((candidate) => candidate.toLowerCase() === given);
    if (value === undefined) throw new Error(`one of ${values.join(', ')}`);
    return value;
  };

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type EmailBisonPagination = 'auto' | 'page' | 'cursor';
export type DatabasePoolModeSetting = 'auto' | 'session' | 'transaction';

// CloudWatch Logs accepts only these retention periods.
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const completeSecretArn = matching(SECRET_ARN, 'the complete ARN of a Secrets Manager secret (ending in -XXXXXX)');

export const SETTINGS = {
  // Read by the Lambdas, the CLI and the local runner.
  databaseUrl: { env: 'DATABASE_URL', parse: text, describe: 'Postgres URL' },
  databaseSecretArn: { env: 'DATABASE_SECRET_ARN', parse: text, describe: 'the database secret the Lambdas read' },
  // A PEM file of the CAs that verify Postgres's certificate (verify-full); the stack sets it from databaseCaBundle.
  databaseCaFile: { env: 'DATABASE_CA_FILE', parse: text, describe: 'PEM file of the CAs that sign the Postgres certificate' },
  // Code-only bound: a connection that cannot be opened in this time fails the invocation, not the Lambda timeout.
  databaseConnectTimeoutSeconds: {
    env: 'DATABASE_CONNECT_TIMEOUT_SECONDS',
    default: 10,
    parse: integer(1, 120),
    describe: 'Postgres connect timeout',
  },
  // SET LOCAL in every transaction (never a startup parameter, which transaction poolers refuse).
  // Unset: each part's own (DATABASE_PARTS below); 0: the server's.
  databaseStatementTimeoutMs: {
    env: 'DATABASE_STATEMENT_TIMEOUT_MS',
    parse: integer(0, 3_600_000),
    describe: "statement_timeout of each transaction (unset: the part's, 0: the server's)",
  },
  databaseLockTimeoutMs: {
    env: 'DATABASE_LOCK_TIMEOUT_MS',
    parse: integer(0, 3_600_000),
    describe: "lock_timeout of each transaction (unset: the part's, 0: the server's)",
  },
  databasePrepare: { env: 'DATABASE_PREPARE', default: false, parse: bool, describe: 'prepared statements (off for poolers)' },
  databasePoolMax: { env: 'DATABASE_POOL_MAX', default: 3, parse: integer(1, 100), describe: 'connections per process' },
  // The CLI and a local run (all the sync's tasks in one process); `webhooks serve` takes at most 3 of them.
  localDatabasePoolMax: {
    env: 'LOCAL_DATABASE_POOL_MAX',
    default: 10,
    parse: integer(2, 100),
    describe: 'connections of a local run or a CLI command',
  },
  // A migration waits this long for each lock, then tries again (MIGRATION_LOCK_ATTEMPTS in all), then fails
  // naming the session in its way: a deploy meeting a busy database fails in seconds, not at the migrate Lambda's timeout.
  migrationLockTimeoutMs: {
    env: 'MIGRATION_LOCK_TIMEOUT_MS',
    default: 5_000,
    parse: integer(100, 60_000),
    describe: 'how long a migration waits for a lock per attempt',
  },
  migrationLockAttempts: {
    env: 'MIGRATION_LOCK_ATTEMPTS',
    default: 3,
    parse: integer(1, 10),
    describe: 'attempts of a migration that meets a lock',
  },
  apiKeysSecretArn: { env: 'API_KEYS_SECRET_ARN', parse: text, describe: 'the API-keys secret' },
  localSecretsFile: {
    env: 'SENDER_SYNC_SECRETS_FILE',
    default: '.sender-sync/secrets.json',
    parse: text,
    describe: 'the local secrets file',
  },
  embeddedPostgresDir: {
    env: 'EMBEDDED_POSTGRES_DIR',
    default: '.sender-sync/postgres',
    parse: text,
    describe: "the embedded Postgres's data directory (local runs without DATABASE_URL), relative to the project",
  },
  secretsCacheTtlSeconds: {
    env: 'SECRETS_CACHE_TTL_SECONDS',
    default: 300,
    parse: integer(0, 86_400),
    describe: 'how long a warm Lambda reuses a secret',
  },
  maxAttempts: { env: 'EMAILBISON_MAX_ATTEMPTS', default: 6, parse: integer(1, 20), describe: 'attempts per EmailBison page request' },
  maxRetryWaitMs: {
    env: 'EMAILBISON_MAX_RETRY_WAIT_MS',
    default: 60_000,
    parse: integer(0, 600_000),
    describe: 'cap on one wait (Retry-After included)',
  },
  // Bounds on what one EmailBison answer may cost (issue 22): a page of 15 accounts is about 10 KB, so 8 MiB is
  // hundreds of pages' worth; the time cap ends a body that trickles just fast enough to dodge the idle timeout.
  maxResponseBytes: {
    env: 'EMAILBISON_MAX_RESPONSE_BYTES',
    default: 8 * 1024 * 1024,
    parse: integer(65_536, 256 * 1024 * 1024),
    describe: 'largest EmailBison answer read, in bytes',
  },
  requestTimeoutMs: {
    env: 'EMAILBISON_REQUEST_TIMEOUT_MS',
    default: 60_000,
    parse: integer(1_000, 600_000),
    describe: 'time one EmailBison request may take, headers and body',
  },
  // A walk whose pages bring no account it has not seen, this many in a row, is going nowhere (a loop upstream).
  maxStalePages: {
    env: 'EMAILBISON_MAX_STALE_PAGES',
    default: 20,
    parse: integer(2, 10_000),
    describe: 'pages in a row with no new account before a walk is failed',
  },
  // Missed events recovered (issue 24): each account sync also reads the workspace's event log (GET /api/events,
  // lambdas/sync/event-log.ts) and applies the account events no change row records, at their own time.
  eventLog: {
    env: 'EMAILBISON_EVENT_LOG',
    default: true,
    parse: bool,
    describe: "whether each account sync reads the workspace's EmailBison event log for missed events",
  },
  // A burst of 2,000 changes is 134 pages of 15: a sync reads at most this many, and says so when it stops there.
  eventLogMaxPages: {
    env: 'EMAILBISON_EVENT_LOG_MAX_PAGES',
    default: 200,
    parse: integer(1, 10_000),
    describe: 'event log pages one account sync reads at most',
  },
  // Set by the stack on Finalize job: where the run digest of disconnected and removed accounts goes.
  changesTopicArn: {
    env: 'CHANGES_TOPIC_ARN',
    parse: matching(/^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]+$/, 'the ARN of an SNS topic'),
    describe: 'SNS topic of the run digests (ChangesTopic)',
  },
  // The webhook receiver (lambdas/webhook-receiver) and `webhooks url|register`: the master secret each workspace's URL token is derived from.
  webhookSecretArn: { env: 'WEBHOOK_SECRET_ARN', parse: text, describe: 'the webhook master secret (its own secret, not the API keys)' },
  // Storage-first intake (issue 19): the receiver sends each accepted delivery to this SQS queue; the applier sends digest ticks to it.
  webhookQueueUrl: {
    env: 'WEBHOOK_QUEUE_URL',
    // http too: the deploy rehearsal's SQS stand-in is a local server.
    parse: matching(/^https?:\/\/\S+$/, 'the URL of an SQS queue (https://sqs.<region>.amazonaws.com/<account>/<name>)'),
    describe: 'the webhook intake queue (SQS)',
  },
  // From a workspace's first pending webhook change to its digest: a burst of deliveries goes out as one message.
  webhookDigestGatherSeconds: {
    env: 'WEBHOOK_DIGEST_GATHER_SECONDS',
    default: 10,
    parse: integer(0, 240),
    describe: 'seconds a webhook digest gathers changes before it is sent',
  },
  batchSize: { env: 'UPSERT_BATCH_SIZE', default: 2_000, parse: integer(1, 3_000), describe: 'accounts per write statement' },

  // Read by both: the stack takes them from context and writes them into the Lambdas' environment.
  databaseSsl: {
    env: 'DATABASE_SSL',
    context: 'databaseSsl',
    parse: oneOf<SslMode>('require', 'verify-full', 'disable'),
    describe: 'TLS to Postgres (require, verify-full or disable)',
  },
  // Where Postgres is when the database secret does not say (an RDS-managed secret holds only username and password); set, they win over the secret's.
  databaseHost: { env: 'DATABASE_HOST', context: 'databaseHost', parse: text, describe: "Postgres host (overrides the secret's)" },
  databasePort: {
    env: 'DATABASE_PORT',
    context: 'databasePort',
    parse: integer(1, 65_535),
    describe: "Postgres port (overrides the secret's)",
  },
  databaseName: { env: 'DATABASE_NAME', context: 'databaseName', parse: text, describe: "Postgres database (overrides the secret's)" },
  // auto: transaction on port 6543 or a pooler's host name, else session (lambdas/db/pool-mode.ts).
  databasePoolMode: {
    env: 'DATABASE_POOL_MODE',
    context: 'databasePoolMode',
    default: 'auto' as DatabasePoolModeSetting,
    parse: oneOf<DatabasePoolModeSetting>('auto', 'session', 'transaction'),
    describe: 'how Postgres is reached: auto, session or transaction (a transaction pooler)',
  },
  jobName: {
    env: 'JOB_NAME',
    context: 'jobName',
    default: 'sender-emails-sync',
    parse: text,
    describe: 'job_name of the polling_job_status rows',
  },
  // At least 5: a shorter execution cannot finish even a small workspace. The stale-lock age is the same number.
  runTimeoutMinutes: {
    env: 'RUN_TIMEOUT_MINUTES',
    context: 'runTimeoutMinutes',
    default: 120,
    parse: integer(5, 24 * 60),
    describe: 'execution timeout in minutes, and the age of a stale running job',
  },
  // At most 780: the sync-workspace Lambda times out at 900 s, and the last page's retries and the cursor save need the rest.
  // At least 60: shorter invocations make a big workspace loop so often that its history fills.
  syncBudgetSeconds: {
    env: 'SYNC_BUDGET_SECONDS',
    context: 'syncBudgetSeconds',
    default: 600,
    parse: integer(60, 780),
    describe: 'seconds a sync invocation works before returning a cursor',
  },
  pageConcurrency: {
    env: 'PAGE_CONCURRENCY',
    context: 'pageConcurrency',
    default: 3,
    parse: integer(1, 20),
    describe: 'pages requested at once per workspace',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    context: 'logLevel',
    default: 'INFO' as LogLevel,
    parse: oneOf<LogLevel>('DEBUG', 'INFO', 'WARN', 'ERROR'),
    describe: 'Lambda log level',
  },
  // Which pagination the EmailBison client asks for (lambdas/emailbison/client.ts) and where a sync's walk starts.
  emailbisonPagination: {
    env: 'EMAILBISON_PAGINATION',
    context: 'emailbisonPagination',
    default: 'auto' as EmailBisonPagination,
    parse: oneOf<EmailBisonPagination>('auto', 'page', 'cursor'),
    describe: 'EmailBison pagination (auto, page or cursor)',
  },
  // Consumed by the EmailBison client (next issue): requests per second per instance, 0 = no cap.
  emailbisonMaxRps: {
    env: 'EMAILBISON_MAX_RPS',
    context: 'emailbisonMaxRps',
    default: 3,
    parse: decimal(0, 1_000),
    describe: 'EmailBison requests per second per instance (0: no cap)',
  },

  // Warmup health (issue 24): the digest lists an account whose warmup_score (EmailBison's 0-100 scale) fell by at least
  // this many points since its previous day's row, or fell under the floor (crossed it: one alert, not one a day while it
  // stays low). 50 is the "healthy" line public EmailBison integrations use (under 30 they call critical).
  warmupScoreDropPoints: {
    env: 'WARMUP_SCORE_DROP_POINTS',
    context: 'warmupScoreDropPoints',
    default: 10,
    parse: decimal(0.01, 100),
    describe: 'warmup score points lost since the previous day that the digest reports',
  },
  warmupScoreFloor: {
    env: 'WARMUP_SCORE_FLOOR',
    context: 'warmupScoreFloor',
    default: 50,
    parse: decimal(0, 100),
    describe: 'warmup score under which an account is reported once, when it falls under it',
  },

  // Read by the stack only.
  // Start job reads it too: a run plans to finish within the interval (lambdas/jobs/plan-run.ts).
  schedule: {
    env: 'SYNC_SCHEDULE',
    context: 'schedule',
    default: 'rate(1 hour)',
    parse: matching(/^(rate|cron)\(.+\)$/, 'rate(...) or cron(...)'),
    describe: 'EventBridge schedule expression',
  },
  scheduleEnabled: { context: 'scheduleEnabled', default: true, parse: bool, describe: 'whether the schedule starts runs' },
  // The daily warmup pass (issue 24) reads the UTC day it starts in: late in the day, its figures are nearly the day's whole.
  warmupHour: {
    context: 'warmupHour',
    default: 23,
    parse: integer(0, 23),
    describe: 'UTC hour of the daily warmup pass (its own rule; off with scheduleEnabled=false)',
  },
  mapConcurrency: { context: 'mapConcurrency', default: 3, parse: integer(1, 40), describe: 'workspaces synced at once' },
  // The webhook applier's SQS event source mapping: at most this many applier Lambdas at once, each with one Postgres
  // connection. SQS refuses a maximum concurrency under 2 (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
  webhookApplierMaxConcurrency: {
    context: 'webhookApplierMaxConcurrency',
    default: 2,
    parse: integer(2, 1000),
    describe: 'webhook applier Lambdas at once (Postgres connections)',
  },
  // 0: no reservation. Off by default: a young account's concurrency quota (10) refuses any reservation, and the receiver
  // opens no database connection, so its bursts cost Postgres nothing.
  webhookReceiverReservedConcurrency: {
    context: 'webhookReceiverReservedConcurrency',
    default: 0,
    parse: integer(0, 1000),
    describe: 'reserved concurrency of the webhook receiver (0: none)',
  },
  tracingEnabled: { context: 'tracingEnabled', default: false, parse: bool, describe: 'X-Ray tracing of the state machine and Lambdas' },
  importedDatabaseSecretArn: { context: 'databaseSecretArn', parse: completeSecretArn, describe: 'database secret' },
  importedApiKeysSecretArn: { context: 'apiKeysSecretArn', parse: completeSecretArn, describe: 'API-keys secret' },
  // On by default: the trigger skips (and says why) while the database secret holds the stack's placeholder.
  migrateOnDeploy: { context: 'migrateOnDeploy', default: true, parse: bool, describe: 'apply migrations on every deploy' },
  vpcId: { context: 'vpcId', parse: matching(/^vpc-[0-9a-f]+$/, 'a VPC id (vpc-...)'), describe: 'VPC of the database' },
  subnetIds: { context: 'subnetIds', parse: list, describe: 'subnets for the Lambdas' },
  availabilityZones: { context: 'availabilityZones', parse: list, describe: 'availability zones of those subnets' },
  // Route needs of VPC mode (infra/network.ts): EmailBison is on the internet, Secrets Manager is reached by NAT or an endpoint.
  subnetsRouteToInternet: {
    context: 'subnetsRouteToInternet',
    default: false,
    parse: bool,
    describe: 'the subnets reach the internet through a NAT gateway',
  },
  createSecretsManagerEndpoint: {
    context: 'createSecretsManagerEndpoint',
    default: false,
    parse: bool,
    describe: 'create a Secrets Manager interface endpoint in the subnets',
  },
  secretsKmsKeyArn: {
    context: 'secretsKmsKeyArn',
    parse: matching(/^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key\/[\w-]+$/, 'the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>)'),
    describe: 'customer-managed KMS key of the imported secrets',
  },
  // `rds`: the Amazon CAs the Lambda runtime carries (RDS included); otherwise a PEM file, relative to the repository root, shipped with the Lambdas.
  databaseCaBundle: { context: 'databaseCaBundle', parse: text, describe: 'CA bundle that verifies Postgres (rds or a PEM path)' },
  securityGroupId: {
    context: 'securityGroupId',
    parse: matching(/^sg-[0-9a-f]+$/, 'a security group id (sg-...)'),
    describe: 'security group for the Lambdas',
  },
  alarmEmail: { context: 'alarmEmail', parse: matching(/^[^@\s]+@[^@\s]+$/, 'an e-mail address'), describe: 'where alarms are e-mailed' },
  changesEmail: {
    context: 'changesEmail',
    parse: matching(/^[^@\s]+@[^@\s]+$/, 'an e-mail address'),
    describe: 'where run digests of account changes are e-mailed',
  },
  executionTimeAlarmMinutes: {
    context: 'executionTimeAlarmMinutes',
    default: 60,
    parse: integer(1, 24 * 60),
    describe: 'execution time alarm threshold',
  },
  noSuccessAlarmHours: {
    context: 'noSuccessAlarmHours',
    default: 6,
    parse: integer(1, 24),
    describe: 'hours without a completed run before alarming',
  },
  logRetentionDays: {
    context: 'logRetentionDays',
    default: 90,
    parse: (raw: unknown) => {
      const days = integer(1, 3653)(raw);
      if (!RETENTION_DAYS.includes(days)) throw new Error(`one of ${RETENTION_DAYS.join(', ')}`);
      return days;
    },
    describe: 'days logs are kept',
  },

  // Options of the EmailBison client that no deployment has needed to change (code passes them).
  baseBackoffMs: { default: 500, parse: integer(0, 60_000), describe: 'backoff ceiling of the first retry, doubling with each next one' },
  // A dead instance must fail a run within a minute (issue 12): three refused or timed-out
  // requests open the host's breaker, so a hung instance costs about three headers timeouts
  // when a workspace meets it alone. A sender-emails page answers in well under a second on
  // a live instance; 15 s still leaves a slow one ample room (only `search`, unused, is slower).
  connectTimeoutMs: { default: 5_000, parse: integer(1, 600_000), describe: 'TCP/TLS connect timeout' },
  headersTimeoutMs: { default: 15_000, parse: integer(1, 600_000), describe: 'time to wait for response headers' },
  bodyTimeoutMs: { default: 30_000, parse: integer(1, 600_000), describe: 'time the response body may stall between chunks' },

  // Options of every AWS SDK client (Secrets Manager in the Lambdas and the CLI, Step Functions in the CLI): in a VPC
  // without a route to the service, a connect otherwise hangs until the Lambda times out (lambdas/runtime/aws-sdk.ts).
  awsConnectTimeoutMs: { default: 3_000, parse: integer(1, 60_000), describe: 'AWS SDK TCP/TLS connect timeout' },
  awsRequestTimeoutMs: { default: 10_000, parse: integer(1, 120_000), describe: 'AWS SDK wait for a response' },
} satisfies Record<string, Setting<unknown>>;

/**
 * Each part of sender-sync that opens Postgres connections: the application_name its
 * sessions show (pg_stat_activity, and a blocked migration's message) and the timeouts
 * set in each of its transactions unless DATABASE_STATEMENT_TIMEOUT_MS / DATABASE_LOCK_TIMEOUT_MS
 * say otherwise. A sync's biggest statement writes UPSERT_BATCH_SIZE rows (well under a
 * second); a webhook answers its sender within seconds; a migration's statements may
 * rebuild an index, so only its lock wait is bounded (MIGRATION_LOCK_TIMEOUT_MS).
 */
export const DATABASE_PARTS = {
  sync: { applicationName: 'sender-sync:sync', statementTimeoutMs: 120_000, lockTimeoutMs: 10_000 },
  'start-job': { applicationName: 'sender-sync:start-job', statementTimeoutMs: 60_000, lockTimeoutMs: 10_000 },
  'finalize-job': { applicationName: 'sender-sync:finalize-job', statementTimeoutMs: 120_000, lockTimeoutMs: 10_000 },
  'mark-failed': { applicationName: 'sender-sync:mark-failed', statementTimeoutMs: 60_000, lockTimeoutMs: 10_000 },
  webhook: { applicationName: 'sender-sync:webhook', statementTimeoutMs: 10_000, lockTimeoutMs: 5_000 },
  migrate: { applicationName: 'sender-sync:migrate', statementTimeoutMs: 0, lockTimeoutMs: 0 },
  /** A local run (`sender-sync run`, `npm start`): the sync's tasks in one process. */
  run: { applicationName: 'sender-sync:run', statementTimeoutMs: 120_000, lockTimeoutMs: 10_000 },
  cli: { applicationName: 'sender-sync:cli', statementTimeoutMs: 60_000, lockTimeoutMs: 10_000 },
} satisfies Record<string, { applicationName: string; statementTimeoutMs: number; lockTimeoutMs: number }>;
export type DatabasePart = keyof typeof DATABASE_PARTS;

export type SettingName = keyof typeof SETTINGS;
export type SettingValue<K extends SettingName> = ReturnType<(typeof SETTINGS)[K]['parse']>;
/** The settings the Lambdas read from their environment. */
export type EnvSettingName = { [K in SettingName]: (typeof SETTINGS)[K] extends { env: string } ? K : never }[SettingName];
/** The settings the stack reads from CDK context. */
export type ContextSettingName = { [K in SettingName]: (typeof SETTINGS)[K] extends { context: string } ? K : never }[SettingName];

/** The environment variables that carry these values to a Lambda, as its loadConfig reads them. */
export function lambdaEnvironment(values: { [K in EnvSettingName]?: SettingValue<K> }): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    environment[(SETTINGS[name as EnvSettingName] as Setting<unknown>).env!] = String(value);
  }
  return environment;
}
