import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createSql, type Sql } from '../../lambdas/db/client';
import { atFileEnd } from './cleanup';
import { withDatabase } from './test-run';

export interface TestDatabase {
  url: string;
  name: string;
  sql: Sql;
}

export function adminUrl(): string {
  return inject('adminDatabaseUrl');
}

/** An empty database (no migrations), dropped after the file's tests. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase(undefined);
}

/** A freshly migrated database of this test file's own, dropped after its tests. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(inject('templateDatabase'));
}

async function createDatabase(template: string | undefined): Promise<TestDatabase> {
  // The run's prefix lets the global teardown find what this run (and no other worktree's run) left.
  const name = `${inject('testDatabasePrefix')}${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(template ? `create database ${name} template ${template}` : `create database ${name}`);
  await admin.end();
  const url = withDatabase(adminUrl(), name);
  const sql = createSql({ url, ssl: 'disable', max: 5 });
  atFileEnd(async () => {
    await sql.end({ timeout: 1 });
    const cleanup = postgres(adminUrl(), { max: 1, onnotice: () => {} });
    try {
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await cleanup.end();
    }
  });
  return { url, name, sql };
}
