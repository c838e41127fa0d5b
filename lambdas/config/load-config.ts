import { ConfigError } from '../errors';
import type { SslMode } from '../db/client';

/**
 * Every setting sender-sync reads, with its default, in one table. Core code never
 * reads process.env: handlers, the CLI and the local runner call loadConfig(env) and
 * pass the result down.
 */
export interface Config {
  databaseUrl?: string;
  databaseSecretArn?: string;
  databaseSsl?: SslMode;
  databasePrepare: boolean;
  databasePoolMax: number;
  apiKeysSecretArn?: string;
  localSecretsFile: string;
  secretsCacheTtlSeconds: number;
  jobName: string;
  runTimeoutMinutes: number;
  syncBudgetSeconds: number;
  pageConcurrency: number;
  maxAttempts: number;
  maxRetryWaitMs: number;
  batchSize: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  default?: Config[K];
  parse: (raw: string) => Config[K];
}

const integer = (min: number, max: number) => (raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`an integer from ${min} to ${max}`);
  return value;
};
const text = (raw: string) => raw;
const oneOf = <T extends string>(...values: T[]) => (raw: string) => {
  const value = raw.trim();
  if (!(values as string[]).includes(value)) throw new Error(`one of ${values.join(', ')}`);
  return value as T;
};
const bool = (raw: string) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error('true or false');
};

export const SETTINGS: { [K in keyof Config]: Setting<K> } = {
  databaseUrl: { key: 'databaseUrl', env: 'DATABASE_URL', parse: text },
  databaseSecretArn: { key: 'databaseSecretArn', env: 'DATABASE_SECRET_ARN', parse: text },
  databaseSsl: { key: 'databaseSsl', env: 'DATABASE_SSL', parse: oneOf<SslMode>('require', 'verify-full', 'disable') },
  databasePrepare: { key: 'databasePrepare', env: 'DATABASE_PREPARE', default: false, parse: bool },
  databasePoolMax: { key: 'databasePoolMax', env: 'DATABASE_POOL_MAX', default: 3, parse: integer(1, 100) },
  apiKeysSecretArn: { key: 'apiKeysSecretArn', env: 'API_KEYS_SECRET_ARN', parse: text },
  localSecretsFile: { key: 'localSecretsFile', env: 'SENDER_SYNC_SECRETS_FILE', default: '.sender-sync/secrets.json', parse: text },
  secretsCacheTtlSeconds: { key: 'secretsCacheTtlSeconds', env: 'SECRETS_CACHE_TTL_SECONDS', default: 300, parse: integer(0, 86_400) },
  jobName: { key: 'jobName', env: 'JOB_NAME', default: 'sender-emails-sync', parse: text },
  runTimeoutMinutes: { key: 'runTimeoutMinutes', env: 'RUN_TIMEOUT_MINUTES', default: 120, parse: integer(1, 24 * 60) },
  syncBudgetSeconds: { key: 'syncBudgetSeconds', env: 'SYNC_BUDGET_SECONDS', default: 600, parse: integer(1, 840) },
  pageConcurrency: { key: 'pageConcurrency', env: 'PAGE_CONCURRENCY', default: 3, parse: integer(1, 20) },
  maxAttempts: { key: 'maxAttempts', env: 'EMAILBISON_MAX_ATTEMPTS', default: 6, parse: integer(1, 20) },
  maxRetryWaitMs: { key: 'maxRetryWaitMs', env: 'EMAILBISON_MAX_RETRY_WAIT_MS', default: 60_000, parse: integer(0, 600_000) },
  batchSize: { key: 'batchSize', env: 'UPSERT_BATCH_SIZE', default: 2_000, parse: integer(1, 3_000) },
  logLevel: { key: 'logLevel', env: 'LOG_LEVEL', default: 'INFO', parse: oneOf('DEBUG', 'INFO', 'WARN', 'ERROR') },
};

/** Validates every key and reports all that are wrong in one error. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config: Partial<Record<keyof Config, unknown>> = {};
  const problems: string[] = [];
  for (const setting of Object.values(SETTINGS) as Setting<keyof Config>[]) {
    const raw = env[setting.env];
    if (raw === undefined || raw.trim() === '') {
      config[setting.key] = setting.default;
      continue;
    }
    try {
      config[setting.key] = setting.parse(raw.trim());
    } catch (error) {
      const expected = error instanceof Error ? error.message : String(error);
      problems.push(`${setting.env} must be ${expected}${isSecretLike(setting.env) ? '' : ` (got "${raw}")`}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}.`);
  return config as Config;
}

function isSecretLike(name: string): boolean {
  return /URL|SECRET|KEY|PASSWORD/.test(name);
}
