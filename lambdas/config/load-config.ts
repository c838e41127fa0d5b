import { ConfigError } from '../errors';
import type { SslMode } from '../db/client';
import {
  SETTINGS,
  type DatabasePoolModeSetting,
  type EmailBisonPagination,
  type EnvSettingName,
  type LogLevel,
  type Setting,
} from './settings';

/**
 * What a Lambda, the CLI or the local runner is configured with, read from the
 * environment by the one settings table (./settings.ts). Core code never reads
 * process.env: handlers, the CLI and the local runner call loadConfig(env) and pass the
 * result down.
 */
export interface Config {
  databaseUrl?: string;
  databaseSecretArn?: string;
  databaseSsl?: SslMode;
  databaseCaFile?: string;
  databaseConnectTimeoutSeconds: number;
  databaseStatementTimeoutMs?: number;
  databaseLockTimeoutMs?: number;
  databasePoolMode: DatabasePoolModeSetting;
  databaseHost?: string;
  databasePort?: number;
  databaseName?: string;
  databasePrepare: boolean;
  databasePoolMax: number;
  localDatabasePoolMax: number;
  migrationLockTimeoutMs: number;
  migrationLockAttempts: number;
  apiKeysSecretArn?: string;
  localSecretsFile: string;
  embeddedPostgresDir: string;
  secretsCacheTtlSeconds: number;
  jobName: string;
  runTimeoutMinutes: number;
  syncBudgetSeconds: number;
  pageConcurrency: number;
  maxAttempts: number;
  maxRetryWaitMs: number;
  maxResponseBytes: number;
  requestTimeoutMs: number;
  maxStalePages: number;
  eventLog: boolean;
  eventLogMaxPages: number;
  batchSize: number;
  webhookSecretArn?: string;
  /** The intake queue the receiver sends deliveries to (and the applier its digest ticks). */
  webhookQueueUrl?: string;
  webhookDigestGatherSeconds: number;
  /** Warmup health in the digests and `health`: points lost since the previous day, and the floor (lambdas/health). */
  warmupScoreDropPoints: number;
  warmupScoreFloor: number;
  /** The ChangesTopic: Finalize job publishes the run digest there. */
  changesTopicArn?: string;
  logLevel: LogLevel;
  /** Consumed by the EmailBison client (next issue). */
  emailbisonPagination: EmailBisonPagination;
  /** Consumed by the EmailBison client (next issue). 0 = no cap. */
  emailbisonMaxRps: number;
  /** The EventBridge schedule: Start job defers what its interval cannot hold at the request cap. */
  schedule: string;
}

// Compile-time: every Config key is a setting with an env var of its type, and every env setting is in Config.
const _configMatchesTable: { [K in keyof Config]-?: Setting<NonNullable<Config[K]>> & { env: string } } = SETTINGS;
const _tableMatchesConfig: Record<EnvSettingName, true> = {} as Record<keyof Config, true>;
void _configMatchesTable;
void _tableMatchesConfig;

const ENV_SETTINGS = (Object.entries(SETTINGS) as [keyof Config, Setting<unknown>][]).filter(([, setting]) => setting.env !== undefined);

/** Validates every key and reports all that are wrong in one error. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config: Partial<Record<keyof Config, unknown>> = {};
  const problems: string[] = [];
  for (const [key, setting] of ENV_SETTINGS) {
    const name = setting.env!;
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      config[key] = setting.default;
      continue;
    }
    try {
      config[key] = setting.parse(raw.trim());
    } catch (error) {
      const expected = error instanceof Error ? error.message : String(error);
      problems.push(`${name} must be ${expected}${isSecretLike(name) ? '' : ` (got "${raw}")`}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}.`);
  return config as Config;
}

function isSecretLike(name: string): boolean {
  return /URL|SECRET|KEY|PASSWORD/.test(name);
}
