import path from 'node:path';
import postgres from 'postgres';
import { createSql, describeDatabaseUrl, sslModeFromUrl, type Sql } from '../lambdas/db/client';
import { migrateFromDirectory } from '../lambdas/db/migrate';
import { isListening, LOCAL_STATE_DIR, startEmbeddedPostgres, type EmbeddedDatabase } from '../local/embedded-postgres';

/**
 * A scratch database for one bench run, dropped at the end: created on the server of
 * DATABASE_URL when set, else on the local server at 127.0.0.1:5432, else on an
 * embedded server started for the run. Bench rows never land in a real database.
 */
export interface BenchDatabase {
  url: string;
  sql: Sql;
  /** Where it runs, without credentials, for the report. */
  server: string;
  kind: 'DATABASE_URL' | 'local 5432' | 'embedded';
  close(): Promise<void>;
}

export async function openBenchDatabase(env: Record<string, string | undefined>): Promise<BenchDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = env.DATABASE_URL;
  let kind: BenchDatabase['kind'] = 'DATABASE_URL';
  if (!adminUrl && (await isListening('127.0.0.1', 5432))) {
    adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
    kind = 'local 5432';
  }
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(LOCAL_STATE_DIR, `bench-postgres-${process.pid}`), persistent: false });
    adminUrl = embedded.url;
    kind = 'embedded';
  }
  const name = `ss_bench_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name}`);
    await admin.unsafe(`create database ${name}`);
  } catch (error) {
    await admin.end();
    await embedded?.stop();
    throw new Error(`Cannot create the scratch database ${name} on ${describeDatabaseUrl(adminUrl)}: ${(error as Error).message}`);
  }
  const url = withDatabase(adminUrl, name);
  const sql = createSql({ url, ssl: sslModeFromUrl(adminUrl), max: 10 });
  await migrateFromDirectory(sql);
  return {
    url,
    sql,
    server: `${describeDatabaseUrl(adminUrl)} (${kind})`,
    kind,
    async close() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end();
      await embedded?.stop();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Each measured run starts from the same state: no accounts, no seen sets. */
export async function clearAccounts(sql: Sql): Promise<void> {
  // The account history goes with the accounts: a run's new rows find no history of earlier runs.
  await sql`truncate sender_emails, polling_job_seen_accounts, sender_email_changes, sender_email_daily`;
}
