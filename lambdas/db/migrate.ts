import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SETTINGS } from '../config/settings';
import { MigrationBlockedError, MigrationError } from '../errors';
import type { Sql } from './client';

/*
 * Forward-only migrations, each file in its own transaction. Written here rather than
 * taken from postgres-shift or ley: neither records checksums to refuse an edited,
 * already-applied file, and the whole runner is these few lines.
 *
 * Concurrency: each file is applied under a transaction-scoped advisory lock and
 * re-checked once the lock is held, so two runners started together apply it once.
 *
 * Locks: a file waits at most `lockTimeoutMs` for each lock it takes (lock_timeout, set in
 * its transaction). While an ALTER waits for a table, every later query on that table
 * queues behind it, so a long wait would stall a running sync; a file that gives up
 * rolls back, lets the queue through and tries again. After `attempts` it fails naming the
 * session in its way, seen while it waited (pg_blocking_pids, pg_stat_activity).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

export interface MigrationLockOptions {
  lockTimeoutMs?: number;
  attempts?: number;
  /** Between attempts: time for the sessions queued behind the migration to get through. */
  retryDelayMs?: number;
}

/** A session in a migration's way, as pg_stat_activity showed it while the migration waited. */
export interface BlockingSession {
  pid: number;
  applicationName: string;
  /** null when this role may not read other roles' states (no pg_read_all_stats). */
  state: string | null;
  /** Since its transaction (or, outside one, its last state change) began. */
  seconds: number | null;
}

const LOCK_KEY = 727_274_001;
const FILE_PATTERN = /^(\d+)[_-](.+)\.sql$/;

export async function readMigrations(directory: string): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new MigrationError(`Migration file ${file} must be named NNN_description.sql.`);
    const sql = await readFile(path.join(directory, file), 'utf8');
    migrations.push({ version: Number(match[1]), name: file, sql, checksum: checksumOf(sql) });
  }
  const versions = new Set<number>();
  for (const migration of migrations) {
    if (versions.has(migration.version)) throw new MigrationError(`Two migration files share version ${migration.version}.`);
    versions.add(migration.version);
  }
  return migrations;
}

export async function migrate(
  sql: Sql,
  migrations: Migration[],
  log: (line: string) => void = () => {},
  lock: MigrationLockOptions = {},
): Promise<MigrationResult> {
  // Every file already applied as it is (each start of a local run): one read, not a transaction per file.
  const recorded = await withLockRetries(sql, 'Reading schema_migrations', lock, log, recordedChecksums);
  if (recorded && migrations.every((migration) => recorded.get(migration.version) === migration.checksum)) {
    return { applied: [], alreadyApplied: migrations.length };
  }
  await withLockRetries(
    sql,
    'Creating schema_migrations',
    lock,
    log,
    (tx) => tx`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )
    `,
  ).catch(ignoreConcurrentCreate);

  const result: MigrationResult = { applied: [], alreadyApplied: 0 };
  for (const migration of migrations) {
    const applied = await withLockRetries(sql, `Migration ${migration.name}`, lock, log, (tx) => applyOne(tx, migration));
    if (applied) {
      result.applied.push(migration.name);
      log(`applied ${migration.name}`);
    } else {
      result.alreadyApplied += 1;
    }
  }
  return result;
}

/** Applies one file in the transaction `tx`: false when it was already applied. */
async function applyOne(tx: Sql, migration: Migration): Promise<boolean> {
  await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
  const [existing] = await tx<{ name: string; checksum: string }[]>`
    select name, checksum from schema_migrations where version = ${migration.version}
  `;
  if (existing) {
    if (existing.checksum !== migration.checksum) {
      throw new MigrationError(
        `Migration ${migration.name} was edited after it was applied (recorded as ${existing.name}); ` +
          'migrations are forward-only: revert the edit and add a new file.',
      );
    }
    return false;
  }
  await tx.unsafe(migration.sql).simple();
  await tx`
    insert into schema_migrations (version, name, checksum)
    values (${migration.version}, ${migration.name}, ${migration.checksum})
  `;
  return true;
}

const LOCK_NOT_AVAILABLE = '55P03';

/** `work` in a transaction whose locks wait at most the lock timeout; `what` names it in the error ("Migration 012_x.sql"). */
async function withLockRetries<T>(
  sql: Sql,
  what: string,
  lock: MigrationLockOptions,
  log: (line: string) => void,
  work: (tx: Sql) => Promise<T>,
): Promise<T> {
  const lockTimeoutMs = lock.lockTimeoutMs ?? SETTINGS.migrationLockTimeoutMs.default;
  const attempts = lock.attempts ?? SETTINGS.migrationLockAttempts.default;
  const retryDelayMs = lock.retryDelayMs ?? 1_000;
  for (let attempt = 1; ; attempt++) {
    const watcher = watchBlockers(sql, lockTimeoutMs);
    try {
      return (await sql.begin(async (tx) => {
        const [{ pid }] = await tx<{ pid: number }[]>`
          select pg_backend_pid() as pid, set_config('lock_timeout', ${String(lockTimeoutMs)}, true)
        `;
        watcher.watch(pid);
        return work(tx as unknown as Sql);
      })) as T;
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
      const blockers = await watcher.stop();
      if (attempt >= attempts) {
        throw new MigrationBlockedError(
          `${what} waited ${lockTimeoutMs} ms for a lock ${attempts === 1 ? 'once' : `${attempts} times`} and gave up: ` +
            `blocked by ${describeBlockers(blockers)}. Nothing of it was applied; the code already deployed keeps running ` +
            'on the schema it has (migrations keep it compatible). Run the migration again (deploy again) once that session is done.',
          { cause: error },
        );
      }
      log(`${what}: no lock within ${lockTimeoutMs} ms (blocked by ${describeBlockers(blockers)}); trying again`);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    } finally {
      await watcher.stop();
    }
  }
}

/**
 * Who blocks the migration's session, read from another connection while it waits: once
 * its lock_timeout fires it waits for nothing, and pg_blocking_pids says nothing more.
 */
function watchBlockers(sql: Sql, lockTimeoutMs: number) {
  let seen: BlockingSession[] = [];
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> = Promise.resolve();
  let stopped = false;
  const everyMs = Math.max(50, Math.min(500, Math.floor(lockTimeoutMs / 4)));
  const look = async (pid: number) => {
    const rows = await sql<{ pid: number; application_name: string; state: string | null; seconds: number | null }[]>`
      select pid, application_name, state,
             extract(epoch from now() - coalesce(xact_start, state_change))::int as seconds
      from pg_stat_activity
      where pid = any(pg_blocking_pids(${pid}))
      order by pid
    `.catch(() => []);
    if (rows.length > 0)
      seen = rows.map((row) => ({ pid: row.pid, applicationName: row.application_name, state: row.state, seconds: row.seconds }));
  };
  return {
    watch(pid: number) {
      const tick = () => {
        if (stopped) return;
        pending = look(pid).finally(() => {
          if (!stopped) timer = setTimeout(tick, everyMs);
        });
      };
      timer = setTimeout(tick, everyMs);
    },
    async stop(): Promise<BlockingSession[]> {
      stopped = true;
      clearTimeout(timer);
      await pending;
      return seen;
    },
  };
}

export function describeBlockers(blockers: BlockingSession[]): string {
  if (blockers.length === 0) return 'a session that ended before it could be named';
  return blockers
    .map(
      (b) =>
        `the session "${b.applicationName || '(no application_name)'}" (pid ${b.pid}, ` +
        `${b.state ?? 'state not visible to this role'}${b.seconds === null ? '' : ` for ${b.seconds} s`})`,
    )
    .join(' and ');
}

export const MIGRATIONS_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../migrations');

export async function migrateFromDirectory(
  sql: Sql,
  directory = MIGRATIONS_DIR,
  log?: (line: string) => void,
  lock?: MigrationLockOptions,
) {
  return migrate(sql, await readMigrations(directory), log, lock);
}

function checksumOf(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/** version → checksum of the applied migrations; undefined before the first (no schema_migrations table). */
async function recordedChecksums(tx: Sql): Promise<Map<number, string> | undefined> {
  const [{ exists }] = await tx<{ exists: boolean }[]>`select to_regclass('schema_migrations') is not null as exists`;
  if (!exists) return undefined;
  const rows = await tx<{ version: number; checksum: string }[]>`select version, checksum from schema_migrations`;
  return new Map(rows.map((row) => [row.version, row.checksum]));
}

/** Two runners racing on `create table if not exists` can collide on the type's unique index. */
function ignoreConcurrentCreate(error: { code?: string }) {
  if (error.code === '23505' || error.code === '42P07') return;
  throw error;
}
