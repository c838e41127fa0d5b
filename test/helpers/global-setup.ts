import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migrateFromDirectory } from '../../lambdas/db/migrate';
import { createSql } from '../../lambdas/db/client';
import { isListening, LOCAL_STATE_DIR, startEmbeddedPostgres, type EmbeddedDatabase } from '../../local/embedded-postgres';

/*
 * One Postgres for the whole run: TEST_DATABASE_URL or DATABASE_URL, else the local
 * server on 127.0.0.1:5432, else an embedded one started here and stopped at the end.
 * A migrated template database is built once; each test file clones it (createTestDatabase).
 */
declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

let embedded: EmbeddedDatabase | undefined;
let adminUrl: string;
let template: string;

export default async function setup(project: TestProject) {
  adminUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';
  if (!adminUrl && (await isListening('127.0.0.1', 5432))) adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(LOCAL_STATE_DIR, `test-postgres-${process.pid}`),
      persistent: false,
    });
    adminUrl = embedded.url;
    console.log(`[test] no Postgres configured or on 127.0.0.1:5432: started an embedded one on port ${embedded.port}`);
  }
  template = `ss_template_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  await admin.end();
  const sql = createSql({ url: withDatabase(adminUrl, template), ssl: 'disable', max: 1 });
  await migrateFromDirectory(sql);
  await sql.end();

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);

  return async () => {
    const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await cleanup.unsafe(`drop database if exists ${template} with (force)`).catch(() => {});
    await cleanup.end();
    await embedded?.stop();
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
