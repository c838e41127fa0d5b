import path from 'node:path';
import { loadConfig, type Config } from '../lambdas/config/load-config';
import { lazySecretsManager } from '../lambdas/runtime/aws-sdk';
import { createSecretResolver, type SecretResolver } from '../lambdas/secrets/resolve';
import { openDatabaseForReading, openLocalDatabase, type LocalDatabase, type ReadDatabase } from '../local/database';
import { PROJECT_ROOT } from '../local/embedded-postgres';
import { invocation } from './invocation';

/** What a CLI command works with: config from the environment, the database, the secret resolver. */
export interface CliContext {
  config: Config;
  db: LocalDatabase;
  secrets: SecretResolver;
  secretsFile: string;
}

/** What a read command works with: the same, with a database opened to read (never migrated, never created). */
export interface ReadContext extends CliContext {
  db: ReadDatabase;
}

/** Migrates the database (creating the embedded one) before use: never for a read command (READ_COMMANDS). */
export async function openCliContext(env: Record<string, string | undefined> = process.env): Promise<CliContext> {
  if (invocation.readOnly) throw new Error(`\`${invocation.path}\` is a read command: it opens the database with openReadContext.`);
  const config = loadConfig(env);
  const db = await openLocalDatabase({ databaseUrl: config.databaseUrl, embeddedDataDir: config.embeddedPostgresDir });
  if (db.adopted) console.error(db.adopted);
  return withSecrets(config, db, env);
}

/** For the read commands (READ_COMMANDS in cli/main.ts): says on stderr which database it reads. */
export async function openReadContext(env: Record<string, string | undefined> = process.env): Promise<ReadContext> {
  const config = loadConfig(env);
  const db = await openDatabaseForReading({ databaseUrl: config.databaseUrl, embeddedDataDir: config.embeddedPostgresDir });
  console.error(`database: ${db.description}`);
  if (db.adopted) console.error(db.adopted);
  return withSecrets(config, db, env);
}

function withSecrets<D extends LocalDatabase>(config: Config, db: D, env: Record<string, string | undefined>) {
  const secretsFile = path.resolve(PROJECT_ROOT, config.localSecretsFile);
  const secrets = createSecretResolver({
    secretsManager: lazySecretsManager(),
    env,
    localSecretsFile: secretsFile,
    ttlSeconds: config.secretsCacheTtlSeconds,
  });
  return { config, db, secrets, secretsFile };
}

export async function withCliContext<T>(work: (context: CliContext) => Promise<T>): Promise<T> {
  const context = await openCliContext();
  try {
    return await work(context);
  } finally {
    await context.db.close();
  }
}

export async function withReadContext<T>(work: (context: ReadContext) => Promise<T>): Promise<T> {
  const context = await openReadContext();
  try {
    return await work(context);
  } finally {
    await context.db.close();
  }
}
