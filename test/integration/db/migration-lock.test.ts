import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_PARTS } from '../../../lambdas/config/settings';
import { createSql, type Sql } from '../../../lambdas/db/client';
import { migrateFromDirectory } from '../../../lambdas/db/migrate';
import { partTimeouts } from '../../../lambdas/db/part';
import { ERROR_CATALOGUE } from '../../../lambdas/errors';
import { tempDir } from '../../helpers/cleanup';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';

/*
 * A migration that meets a busy table: it waits at most its lock timeout per attempt, then
 * fails naming the session in its way; meanwhile the queries queued behind its ALTER (a
 * sync's) wait no longer than that timeout.
 */
const LOCK_TIMEOUT_MS = 800;
const ATTEMPTS = 2;
const RETRY_DELAY_MS = 200;

const db = await createTestDatabase();
const clients: Sql[] = [];
afterAll(async () => {
  await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })));
});

function client(part: 'sync' | 'migrate'): Sql {
  const sql = createSql({
    url: db.url,
    ssl: 'disable',
    max: 3,
    applicationName: DATABASE_PARTS[part].applicationName,
    timeouts: partTimeouts({}, part),
  });
  clients.push(sql);
  return sql;
}

/** A migrations folder holding one file that alters sender_emails (it needs ACCESS EXCLUSIVE). */
function migrationsWithAlter(): string {
  const dir = tempDir('ss-migration-lock-');
  writeFileSync(path.join(dir, '900_add_pooler_test_column.sql'), 'alter table sender_emails add column pooler_test integer;\n');
  return dir;
}

/** An open transaction that has read sender_emails (ACCESS SHARE held until it ends): a sync mid-batch, or a person in psql. */
async function openTransaction(sql: Sql): Promise<{ end(): void; ended: Promise<unknown> }> {
  let end!: () => void;
  const held = new Promise<void>((resolve) => {
    end = resolve;
  });
  let started!: () => void;
  const begun = new Promise<void>((resolve) => {
    started = resolve;
  });
  const ended = sql.begin(async (tx) => {
    await tx`select count(*) from sender_emails`;
    started();
    await held;
  });
  await begun;
  return { end, ended };
}

describe('a migration blocked by an open transaction', () => {
  it('fails within its lock timeout per attempt, naming the blocking session, and applies nothing', async () => {
    const blocker = await openTransaction(client('sync'));
    const lines: string[] = [];
    const started = performance.now();
    const outcome = await migrateFromDirectory(client('migrate'), migrationsWithAlter(), (line) => lines.push(line), {
      lockTimeoutMs: LOCK_TIMEOUT_MS,
      attempts: ATTEMPTS,
      retryDelayMs: RETRY_DELAY_MS,
    }).catch((error: unknown) => error);
    const elapsedMs = performance.now() - started;
    blocker.end();
    await blocker.ended;

    expect(outcome).toMatchObject({ name: 'MigrationBlockedError', code: ERROR_CATALOGUE.MigrationBlockedError.code });
    const message = (outcome as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^Migration 900_add_pooler_test_column.sql waited ${LOCK_TIMEOUT_MS} ms for a lock ${ATTEMPTS} times and gave up: ` +
          'blocked by the session "sender-sync:sync" \\(pid \\d+, idle in transaction for \\d+ s\\)\\.',
      ),
    );
    expect(message).toContain('the code already deployed keeps running on the schema it has');
    expect(lines).toEqual([
      expect.stringMatching(/^Migration 900_add_pooler_test_column.sql: no lock within 800 ms \(blocked by the session "sender-sync:sync"/),
    ]);
    // Two waits of the lock timeout and the pause between them, and little else.
    expect(elapsedMs).toBeGreaterThanOrEqual(ATTEMPTS * LOCK_TIMEOUT_MS);
    expect(elapsedMs).toBeLessThan(ATTEMPTS * LOCK_TIMEOUT_MS + RETRY_DELAY_MS + 1_500);
    console.log(
      `migration blocked: failed after ${Math.round(elapsedMs)} ms (${ATTEMPTS} x ${LOCK_TIMEOUT_MS} ms lock timeout + ${RETRY_DELAY_MS} ms)`,
    );
    const columns =
      await db.sql`select 1 from information_schema.columns where table_name = 'sender_emails' and column_name = 'pooler_test'`;
    expect(columns).toEqual([]);
    expect(await db.sql`select 1 from schema_migrations where version = 900`).toEqual([]);
  });

  it('holds a sync queued behind its ALTER no longer than its lock timeout, then applies once the blocker is gone', async () => {
    const sync = client('sync');
    const blocker = await openTransaction(client('sync'));
    const migration = migrateFromDirectory(client('migrate'), migrationsWithAlter(), () => {}, {
      lockTimeoutMs: LOCK_TIMEOUT_MS,
      attempts: 5,
      retryDelayMs: RETRY_DELAY_MS,
    });
    // The ALTER is queued for its ACCESS EXCLUSIVE lock: a sync's write on the table queues behind it.
    await waitFor(
      async () => (await db.sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like 'alter table%'`).length > 0,
    );
    const syncStarted = performance.now();
    await sync.begin((tx) => tx`update sender_emails set status = status where false`);
    const syncWaitedMs = performance.now() - syncStarted;
    blocker.end();
    await blocker.ended;
    const result = await migration;

    expect(syncWaitedMs).toBeLessThan(LOCK_TIMEOUT_MS + 300);
    console.log(
      `sync write queued behind the migration's ALTER: waited ${Math.round(syncWaitedMs)} ms (lock timeout ${LOCK_TIMEOUT_MS} ms)`,
    );
    expect(result.applied).toEqual(['900_add_pooler_test_column.sql']);
  });

  it('fails `sender-sync migrate` fast, with the message, exit 1', async () => {
    // The shipped migrations are all applied: block the one every run takes first, schema_migrations itself.
    const holder = client('sync');
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = holder.begin(async (tx) => {
      await tx`lock table schema_migrations in access exclusive mode`;
      locked();
      await released;
    });
    await isLocked;
    const started = performance.now();
    const result = await cli(['migrate'], { DATABASE_URL: db.url, MIGRATION_LOCK_TIMEOUT_MS: '500', MIGRATION_LOCK_ATTEMPTS: '1' });
    const elapsedMs = performance.now() - started;
    release();
    await holding;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Reading schema_migrations waited 500 ms for a lock once and gave up');
    expect(result.stderr).toMatch(/blocked by the session "sender-sync:sync" \(pid \d+, idle in transaction for \d+ s\)/);
    console.log(`sender-sync migrate against a locked schema_migrations: exit ${result.code} after ${Math.round(elapsedMs)} ms`);
    expect(elapsedMs).toBeLessThan(10_000);
  }, 30_000);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
