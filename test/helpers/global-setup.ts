import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createSql } from '../../lambdas/db/client';
import { migrateFromDirectory } from '../../lambdas/db/migrate';
import { type EmbeddedDatabase, isListening, LOCAL_STATE_DIR, startEmbeddedPostgres } from '../../local/embedded-postgres';
import { TOOL_CACHES, withDatabase } from './test-run';

/*
 * One Postgres for the whole run: TEST_DATABASE_URL, else the local server on
 * 127.0.0.1:5432, else an embedded one started here and stopped at the end. Never
 * DATABASE_URL: that is the application's database, maybe production's, and the tests
 * create and drop databases. It is removed from the environment the test workers and
 * their child processes inherit.
 *
 * A migrated template database is built once; each test file clones it (createTestDatabase).
 * This run's databases and temp directories carry a mark of their own (other checkouts
 * run their tests on the same server at the same time); the teardown fails the run if
 * any of them is left.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    testDatabasePrefix: string;
  }
}

export default async function setup(project: TestProject) {
  delete process.env.DATABASE_URL;
  buildCliBundle();
  const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const databasePrefix = `ss_test_${runId}_`;
  const template = `ss_template_${runId}`;

  // Workers and the processes they start inherit TMPDIR: whatever they make with os.tmpdir() lands here.
  const outerTmp = process.env.TMPDIR;
  const runTmp = mkdtempSync(path.join(os.tmpdir(), `ss-test-run-${runId}-`));
  // Reachable like /tmp: as root, the embedded Postgres's initdb runs as `postgres` and reads a file written here.
  chmodSync(runTmp, 0o755);
  process.env.TMPDIR = runTmp;

  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL || '';
  if (!adminUrl && (await isListening('127.0.0.1', 5432))) adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(LOCAL_STATE_DIR, `test-postgres-${process.pid}`), persistent: false });
    adminUrl = embedded.url;
    console.log(`[test] no TEST_DATABASE_URL and no Postgres on 127.0.0.1:5432: started an embedded one on port ${embedded.port}`);
  }

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  await admin.end();
  const sql = createSql({ url: withDatabase(adminUrl, template), ssl: 'disable', max: 1 });
  await migrateFromDirectory(sql);
  await sql.end();

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);
  project.provide('testDatabasePrefix', databasePrefix);

  return async () => {
    const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
    let leftDatabases: string[] = [];
    try {
      await cleanup.unsafe(`drop database if exists ${template} with (force)`);
      const rows = await cleanup<{ datname: string }[]>`select datname from pg_database where starts_with(datname, ${databasePrefix})`;
      leftDatabases = rows.map((row) => row.datname);
      for (const name of leftDatabases) await cleanup.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await cleanup.end();
      await embedded?.stop();
    }

    if (outerTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outerTmp;
    const leftDirs = readdirSync(runTmp).filter((entry) => !TOOL_CACHES.some((cache) => cache.test(entry)));
    rmSync(runTmp, { recursive: true, force: true });

    const leaks = [...leftDatabases.map((name) => `database ${name}`), ...leftDirs.map((entry) => `temp entry ${entry}`)];
    if (leaks.length > 0) {
      // Vitest reports an error thrown here but keeps its exit code: set it.
      process.exitCode = 1;
      throw new Error(`The tests left ${leaks.length} thing(s) behind (now removed; fix the test that made them): ${leaks.join(', ')}`);
    }
  };
}

/**
 * The CLI's tests run what users run: the bundle (dist/) through bin/sender-sync.mjs, which
 * rebuilds it when a source changed. Done here once (`sender-sync --version`), so the test
 * files' processes never build it side by side; a build that fails stops the run, saying why.
 */
function buildCliBundle(): void {
  try {
    execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/sender-sync.mjs'), '--version'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(`The CLI bundle (dist/) could not be built; \`node cli/bundle.mjs\` shows why.\n${stderr || String(error)}`);
  }
}
