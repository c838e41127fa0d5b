import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { readFile } from 'node:fs/promises';
import { loadConfig, type Config } from '../config/load-config';
import {
  DATABASE_PARTS,
  type DatabasePart,
  DEFERRED_METRIC,
  DIGEST_NOT_PUBLISHED_METRIC,
  METRICS_NAMESPACE,
  NEEDED_MINUTES_METRIC,
  NOT_CONFIGURED_METRIC,
  SERVICE_NAME,
} from '../config/settings';
import {
  createSql,
  type DatabaseOptions,
  isSupabaseDirectHost,
  SUPABASE_DIRECT_HOST_ADVICE,
  type DatabaseSecret,
  type Sql,
} from '../db/client';
import { partTimeouts, secretPassword } from '../db/part';
import { ConfigError, DatabaseConfigError, ERROR_CATALOGUE, errorCode } from '../errors';
import { isPlaceholderDatabaseSecret, notConfigured } from '../db/placeholder';
import { createSecretResolver, type SecretResolver } from '../secrets/resolve';
import { awsClientOptions } from './aws-sdk';
import { countPublishFailures } from '../digests/publisher';
import type { ChangesPublisher, RunMetrics, TaskDeps, TaskLog } from './deps';

/*
 * The Lambda side of the dependencies: built once per container (module scope of each
 * handler), reused by warm invocations. The database client is created on first use
 * because its credentials come from Secrets Manager.
 */
export interface LambdaRuntime {
  deps(context?: Context): Promise<TaskDeps>;
  logger: Logger;
  metrics: Metrics;
}

export interface LambdaRuntimeOptions {
  /**
   * The digest publisher of a task that sends one (Finalize job, Mark failed: changes-topic.ts),
   * given the ChangesTopic's ARN; the other handlers leave it out, so their bundles carry no SNS client.
   */
  changesPublisher?: (topicArn: string) => ChangesPublisher;
  /** Which part this Lambda is: its sessions' application_name and its transactions' timeouts. Default sync. */
  part?: DatabasePart;
}

export function createLambdaRuntime(
  env: Record<string, string | undefined> = process.env,
  options: LambdaRuntimeOptions = {},
): LambdaRuntime {
  const config = loadConfig(env);
  const logger = new Logger({ serviceName: SERVICE_NAME, logLevel: config.logLevel });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const secrets = createSecretResolver({
    secretsManager: new SecretsManagerClient(awsClientOptions()),
    env,
    localSecretsFile: config.localSecretsFile,
    ttlSeconds: config.secretsCacheTtlSeconds,
  });
  let sql: Promise<Sql> | undefined;
  const log = powertoolsLog(logger);
  const runMetrics = powertoolsMetrics(metrics);
  const publisher = config.changesTopicArn ? options.changesPublisher?.(config.changesTopicArn) : undefined;
  const changes = publisher && countPublishFailures(publisher, runMetrics);

  return {
    logger,
    metrics,
    async deps(context?: Context) {
      sql ??= connect(config, secrets, log, options.part ?? 'sync').catch((error) => {
        sql = undefined;
        throw error;
      });
      logger.resetKeys();
      if (context) logger.addContext(context);
      return {
        sql: await sql,
        secrets,
        config,
        log,
        metrics: runMetrics,
        now: Date.now,
        remainingTimeMs: context ? () => context.getRemainingTimeInMillis() : undefined,
        changes,
      };
    },
  };
}

async function connect(config: Config, secrets: SecretResolver, log: TaskLog, part: DatabasePart): Promise<Sql> {
  const common: DatabaseOptions = {
    ssl: config.databaseSsl,
    ca: config.databaseCaFile ? await readCaFile(config.databaseCaFile) : undefined,
    prepare: config.databasePrepare,
    poolMode: config.databasePoolMode,
    max: config.databasePoolMax,
    connectTimeoutSeconds: config.databaseConnectTimeoutSeconds,
    timeouts: partTimeouts(config, part),
    applicationName: DATABASE_PARTS[part].applicationName,
  };
  if (config.databaseSecretArn) {
    const reference = `aws-sm:${config.databaseSecretArn}`;
    const secret = await secrets.resolveJson<DatabaseSecret>(reference, 'database credentials');
    if (isPlaceholderDatabaseSecret(secret)) throw notConfigured(config.databaseSecretArn);
    const target = { host: config.databaseHost, port: config.databasePort, database: config.databaseName };
    const host = target.host ?? secret.host;
    if (host && isSupabaseDirectHost(host)) log.warn(SUPABASE_DIRECT_HOST_ADVICE, { host });
    // A warm container outlives a rotation (RDS rotates every 7 days): each new connection reads the secret (cached).
    const password = secretPassword(secrets, reference, (message) => log.info(message));
    return createSql({ ...common, secret, target, password });
  }
  if (config.databaseUrl) return createSql({ ...common, url: config.databaseUrl });
  throw new ConfigError('No database configured: set DATABASE_SECRET_ARN (or DATABASE_URL).');
}

async function readCaFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new DatabaseConfigError(
      `Cannot read the Postgres CA bundle DATABASE_CA_FILE=${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      { cause: error },
    );
  }
}

function powertoolsLog(logger: Logger): TaskLog {
  return {
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
    setContext: (fields) => logger.appendKeys(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))),
  };
}

/** RunMetrics as Powertools EMF, under the service's namespace and `service` dimension (what infra/alarms.ts watches). */
export function powertoolsMetrics(metrics: Metrics): RunMetrics {
  let pending = false;
  return {
    workspaceSynced({ accountsSynced, rateLimitWaitMs }) {
      pending = true;
      metrics.addMetric('AccountsSynced', MetricUnit.Count, accountsSynced);
      metrics.addMetric('RateLimitWaitMs', MetricUnit.Milliseconds, Math.round(rateLimitWaitMs));
    },
    runPlanned({ deferred, neededMinutes }) {
      pending = true;
      metrics.addMetric(DEFERRED_METRIC, MetricUnit.Count, deferred);
      metrics.addMetric(NEEDED_MINUTES_METRIC, MetricUnit.Count, neededMinutes);
    },
    configured() {
      pending = true;
      metrics.addMetric(NOT_CONFIGURED_METRIC, MetricUnit.Count, 0);
    },
    runFinished(summary) {
      pending = true;
      // Deferred workspaces are no failure: the WorkspacesDeferred alarm tells of them.
      metrics.addMetric(
        'WorkspacesFailed',
        MetricUnit.Count,
        summary.workspacesFailed + summary.workspacesSkipped - summary.workspacesDeferred,
      );
      metrics.addMetric('RunDurationMs', MetricUnit.Milliseconds, summary.durationMs ?? 0);
      metrics.addMetric('SuccessfulRuns', MetricUnit.Count, summary.status === 'completed' ? 1 : 0);
      metrics.addMetric('PartialRuns', MetricUnit.Count, summary.status === 'partial' ? 1 : 0);
    },
    digestNotPublished() {
      // A metric of its own, out now: a Lambda that times out after the failed publish never flushes.
      metrics.singleMetric().addMetric(DIGEST_NOT_PUBLISHED_METRIC, MetricUnit.Count, 1);
    },
    runChanges({ disconnected, reconnected, added, removed }) {
      pending = true;
      metrics.addMetric('AccountsDisconnected', MetricUnit.Count, disconnected);
      metrics.addMetric('AccountsReconnected', MetricUnit.Count, reconnected);
      metrics.addMetric('AccountsAdded', MetricUnit.Count, added);
      metrics.addMetric('AccountsRemoved', MetricUnit.Count, removed);
    },
    flush() {
      if (pending) metrics.publishStoredMetrics();
      pending = false;
    },
  };
}

/** Runs one invocation: deps, the task, metrics flushed even on failure, the error rethrown as is (its name is the error type). */
export async function invoke<E, R>(
  runtime: LambdaRuntime,
  event: E,
  context: Context | undefined,
  task: (deps: TaskDeps) => (event: E) => Promise<R>,
): Promise<R> {
  const deps = await runtime.deps(context).catch((error: unknown) => {
    // The NotConfigured alarm holds while this is 1 and clears when Start job reports 0 (configured()).
    if (errorCode(error) === ERROR_CATALOGUE.NotConfiguredError.code) {
      runtime.metrics.addMetric(NOT_CONFIGURED_METRIC, MetricUnit.Count, 1);
      runtime.metrics.publishStoredMetrics();
    }
    throw error;
  });
  try {
    return await task(deps)(event);
  } finally {
    deps.metrics.flush();
  }
}
