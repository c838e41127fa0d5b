import { execFile } from 'node:child_process';
import { cp, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createSql } from '../../../lambdas/db/client';
import { MIGRATIONS_DIR, migrateFromDirectory, readMigrations } from '../../../lambdas/db/migrate';
import { adminUrl, createEmptyDatabase } from '../../helpers/database';
import { tempDir } from '../../helpers/cleanup';

const run = promisify(execFile);

async function appliedVersions(url: string) {
  const sql = postgres(url, { max: 1 });
  const rows = await sql`select version, name from schema_migrations order by version`;
  await sql.end();
  return rows.map((row) => row.name as string);
}

describe('migrations', () => {
  it('apply to an empty database, and a second apply changes nothing', async () => {
    const db = await createEmptyDatabase();
    const files = (await readMigrations(MIGRATIONS_DIR)).map((m) => m.name);
    const first = await migrateFromDirectory(db.sql);
    expect(first.applied).toEqual(files);
    const schemaBefore =
      await db.sql`select table_name, column_name, data_type from information_schema.columns where table_schema = 'public' order by 1, 2`;
    const second = await migrateFromDirectory(db.sql);
    expect(second).toEqual({ applied: [], alreadyApplied: files.length });
    const schemaAfter =
      await db.sql`select table_name, column_name, data_type from information_schema.columns where table_schema = 'public' order by 1, 2`;
    expect(schemaAfter).toEqual(schemaBefore);
  });

  it('two `npm run migrate` processes started at once both succeed and apply each file once', async () => {
    const db = await createEmptyDatabase();
    const env = { ...process.env, DATABASE_URL: db.url };
    const both = await Promise.all([
      run('npm', ['run', '--silent', 'migrate', '--', '--json'], { env }),
      run('npm', ['run', '--silent', 'migrate', '--', '--json'], { env }),
    ]);
    const results = both.map(({ stdout }) => JSON.parse(stdout));
    const files = (await readMigrations(MIGRATIONS_DIR)).map((m) => m.name);
    expect([...results[0].applied, ...results[1].applied].sort()).toEqual(files);
    expect(await appliedVersions(db.url)).toEqual(files);
  });

  it('refuses an edited, already-applied file by name', async () => {
    const db = await createEmptyDatabase();
    const dir = tempDir('ss-migrations-');
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await migrateFromDirectory(db.sql, dir);
    const file = path.join(dir, '001_schema.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\n-- an edit\n`);
    await expect(migrateFromDirectory(db.sql, dir)).rejects.toMatchObject({
      code: 'SS_MIGRATION',
      message: expect.stringContaining('001_schema.sql was edited after it was applied'),
    });
  });
});

describe('migrations with and without the Supabase roles', () => {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  afterAll(() => admin.end());

  async function policies(url: string) {
    const sql = createSql({ url, ssl: 'disable', max: 1 });
    const rows = await sql<{ tablename: string; policyname: string }[]>`select tablename, policyname from pg_policies order by 1, 2`;
    await sql.end();
    return rows.map((r) => `${r.tablename}.${r.policyname}`);
  }

  it('apply on plain Postgres, where anon and service_role do not exist, creating no policy', async (context) => {
    const [roles] = await admin`select count(*)::int as n from pg_roles where rolname in ('anon', 'service_role')`;
    if (roles.n > 0) context.skip('this server already has the Supabase roles');
    const db = await createEmptyDatabase();
    await migrateFromDirectory(db.sql);
    expect(await policies(db.url)).toEqual([]);
  });

  it('apply where anon and service_role exist, creating their policies', async () => {
    const created: string[] = [];
    for (const role of ['anon', 'service_role']) {
      const [exists] = await admin`select 1 from pg_roles where rolname = ${role}`;
      if (!exists) {
        await admin.unsafe(`create role ${role} nologin`);
        created.push(role);
      }
    }
    try {
      const db = await createEmptyDatabase();
      await migrateFromDirectory(db.sql);
      const found = await policies(db.url);
      expect(found).toContain('polling_job_status.anon_read');
      expect(found).toContain('sender_emails.service_role_all');
      expect(found).toContain('emailbison_host_budget.service_role_all');
      await db.sql.end();
      await admin.unsafe(`drop database ${db.name} with (force)`);
    } finally {
      for (const role of created) await admin.unsafe(`drop role ${role}`);
    }
  });
});
