import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sql } from '../../../lambdas/db/client';
import { openDatabaseForReading } from '../../../local/database';
import { tempDir } from '../../helpers/cleanup';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';

/*
 * Issue 14, items 2 and 3: read commands read (no migration, no write, say which
 * database), and the conventions a gh / aws / dbt user expects (--version, exit 64 for
 * usage, one JSON value on stdout, status --exit-status, jobs).
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');

async function insertJob(sql: Sql, job: { status: string; startedAt: string; accounts?: number; failed?: number }): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into polling_job_status (job_name, status, started_at, completed_at, total_workspaces, workspaces_processed,
                                    workspaces_failed, total_accounts_synced, trigger_source)
    values ('sender-emails-sync', ${job.status}, ${job.startedAt}, ${job.status === 'running' ? null : job.startedAt}, 3,
            ${3 - (job.failed ?? 0)}, ${job.failed ?? 0}, ${job.accounts ?? 0}, 'cli')
    returning id`;
  return row.id;
}

describe('read commands against a database sender-sync never migrated', () => {
  // Each read command on a database without the schema: test/integration/cli/bundle.test.ts (from READ_COMMANDS).
  it('never create the embedded Postgres: one that does not exist is reported, and its directory stays empty', async () => {
    const dir = tempDir('ss-no-embedded-');
    const dataDir = path.join(dir, 'postgres');
    await expect(openDatabaseForReading({ embeddedDataDir: dataDir })).rejects.toMatchObject({
      code: 'SS_SCHEMA_MISSING',
      message: expect.stringContaining('does not exist yet: nothing to read'),
    });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('read commands against the sync database', async () => {
  const db = await createTestDatabase();
  const url = new URL(db.url);
  url.password = 'sentinel-db-password';
  const env = { DATABASE_URL: url.toString() };

  it('say on stderr which database they read (host and name, never the password), and stdout holds the JSON alone', async () => {
    await insertJob(db.sql, { status: 'completed', startedAt: '2026-11-30T10:00:00Z', accounts: 40 });
    const before = await db.sql`select * from polling_job_status`;
    const result = await cli(['status', '--json'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`database: 127.0.0.1:5432/${db.name}\n`);
    expect(result.stdout + result.stderr).not.toContain('sentinel-db-password');
    const { job, workspaces, execution } = JSON.parse(result.stdout);
    expect(job).toMatchObject({ status: 'completed', total_workspaces: 3, workspaces_processed: 3, total_accounts_synced: 40 });
    expect(Object.keys(job).filter((key) => /[A-Z]/.test(key))).toEqual([]);
    expect(workspaces).toEqual([]);
    expect(execution).toBeNull();
    expect(await db.sql`select * from polling_job_status`).toEqual(before);
  });

  it('read inside read-only transactions: a write through the read session is refused by Postgres', async () => {
    const reader = await openDatabaseForReading({ databaseUrl: db.url });
    try {
      expect(reader.description).toBe(`127.0.0.1:5432/${db.name}`);
      await expect(reader.read((sql) => sql`insert into polling_job_status (job_name) values ('x')`)).rejects.toMatchObject({
        code: '25006',
      });
    } finally {
      await reader.close();
    }
  });

  it('`status --exit-status` exits 2 for a partial latest job, 3 for a failed one, 0 without the flag', async () => {
    await insertJob(db.sql, { status: 'partial', startedAt: '2026-11-30T11:00:00Z', accounts: 30, failed: 1 });
    expect((await cli(['status', '--exit-status'], env)).code).toBe(2);
    await insertJob(db.sql, { status: 'failed', startedAt: '2026-11-30T12:00:00Z', failed: 3 });
    const failed = await cli(['status', '--exit-status'], env);
    expect(failed.code).toBe(3);
    expect(failed.stdout).toMatch(/status\s+failed/);
    expect((await cli(['status'], env)).code).toBe(0);
  });

  it('`jobs` lists recent jobs newest first: id, pass, started, status, workspaces, accounts', async () => {
    const ids = (await db.sql<{ id: string }[]>`select id from polling_job_status order by started_at desc`).map((r) => r.id);
    expect(ids).toHaveLength(3);
    const human = await cli(['jobs', '--limit', '2'], env);
    expect(human.code).toBe(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+pass\s+started\s+status\s+workspaces\s+accounts/);
    expect(lines.slice(2)).toHaveLength(2);
    expect(lines[2]).toMatch(new RegExp(`^${ids[0]}\\s+sync\\s+2026-11-30 12:00:00Z\\s+failed\\s+0/3 \\(3 failed\\)\\s+0`));
    expect(lines[3]).toMatch(new RegExp(`^${ids[1]}\\s+sync\\s+2026-11-30 11:00:00Z\\s+partial\\s+2/3 \\(1 failed\\)\\s+30`));
    const { jobs } = JSON.parse((await cli(['jobs', '--json'], env)).stdout);
    expect(jobs.map((j: { id: string }) => j.id)).toEqual(ids);
    expect(jobs[2]).toMatchObject({ status: 'completed', started_at: '2026-11-30T10:00:00.000Z', total_accounts_synced: 40 });
  });

  it('`missing` and `accounts` print one documented object each', async () => {
    await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Acme Outbound', 'https://x.example', 'env:K')`;
    const missing = JSON.parse((await cli(['missing', '--json'], env)).stdout);
    expect(missing).toEqual({
      workspaces: [{ name: 'Acme Outbound', removed_accounts: 0, last_status: null, last_error: null, last_synced_at: null }],
    });
    const accounts = JSON.parse((await cli(['accounts', '--json'], env)).stdout);
    expect(accounts).toEqual({
      workspaces: [{ name: 'Acme Outbound', live: 0, removed: 0, last_synced_at: null, last_status: null }],
      totals: { workspaces: 1, live: 0, removed: 0 },
    });
  });
});

describe('conventions', () => {
  it('`--version` prints the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const result = await cli(['--version'], {});
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('exits 64 on a usage error with one line and where the help is: an unknown option, a missing argument, a bad value', async () => {
    const [unknown, missing, bad, sim] = await Promise.all([
      cli(['status', '--colour'], {}),
      cli(['workspaces', 'add', '--base-url', 'https://x.example'], {}),
      cli(['jobs', '--limit', '0'], {}),
      cli(['run', '--sim-pagination', 'sideways'], {}),
    ]);
    expect(unknown).toEqual({
      code: 64,
      stdout: '',
      stderr: "sender-sync: unknown option '--colour'\nsee `sender-sync status --help`\n",
    });
    expect(missing).toMatchObject({
      code: 64,
      stderr: "sender-sync: missing required argument 'name'\nsee `sender-sync workspaces add --help`\n",
    });
    expect(bad).toMatchObject({
      code: 64,
      stderr: "sender-sync: option '--limit <n>' argument '0' is invalid. must be a whole number >= 1.\nsee `sender-sync jobs --help`\n",
    });
    // run's flag values are checked before its progress line: the error is all it prints.
    expect(sim).toMatchObject({
      code: 64,
      stderr:
        'sender-sync: --sim-pagination must be one of page, cursor-default, cursor-only, page-only, got "sideways".\nsee `sender-sync run --help`\n',
    });
  });
  // Every command's help has an example: test/integration/cli/bundle.test.ts.
});

describe('sender-sync run', async () => {
  const db = await createTestDatabase();
  const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: path.join(tempDir('ss-run-json-'), 'secrets.json') };

  it('`run --json | node -e JSON.parse(…)` succeeds: stdout is the JSON alone, progress goes to stderr', async () => {
    const parse = 'const j = JSON.parse(require("fs").readFileSync(0)); console.log(j.status, j.job.total_accounts_synced)';
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'sh',
        [
          '-c',
          `"${process.execPath}" bin/sender-sync.mjs run --json --sim-port 0 --scenario grid:3:20 | "${process.execPath}" -e '${parse}'`,
        ],
        { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'ERROR' }, timeout: 120_000 },
        (error, out, err) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout: out, stderr: err }),
      );
    });
    expect(stderr).toContain('No EmailBison workspaces are registered: syncing the simulated EmailBison API (scenario grid:3:20');
    expect(stderr).toContain('synced 20 accounts');
    expect(code).toBe(0);
    expect(stdout).toBe('completed 60\n');
  }, 120_000);

  it('exits 64 with one line naming an unknown workspace, and starts no job', async () => {
    const before = await db.sql`select count(*)::int as n from polling_job_status`;
    const result = await cli(['run', '--json', '--sim-port', '0', '--scenario', 'grid:3:20', '--workspaces', 'Nope'], env);
    expect(result.code).toBe(64);
    expect(result.stdout).toBe('');
    const errorLines = result.stderr
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('sender-sync:'));
    expect(errorLines).toEqual([
      'sender-sync: Cannot start the run: unknown workspace "Nope". Nothing was started; `sender-sync workspaces list` shows the registered names.',
    ]);
    expect(result.stderr).not.toContain('errorType');
    expect(await db.sql`select count(*)::int as n from polling_job_status`).toEqual(before);
  }, 60_000);
});
