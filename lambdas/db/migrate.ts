import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MigrationError } from '../errors';
import type { Sql } from './client';

/*
 * Forward-only migrations, each file in its own transaction. Written here rather than
 * taken from postgres-shift or ley: neither records checksums to refuse an edited,
 * already-applied file, and the whole runner is these few lines.
 *
 * Concurrency: each file is applied under a transaction-scoped advisory lock and
 * re-checked once the lock is held, so two runners started together apply it once.
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

export async function migrate(sql: Sql, migrations: Migration[], log: (line: string) => void = () => {}): Promise<MigrationResult> {
  // Every file already applied as it is (each start of a local run): one query, not a transaction per file.
  const recorded = await recordedChecksums(sql);
  if (recorded && migrations.every((migration) => recorded.get(migration.version) === migration.checksum)) {
    return { applied: [], alreadyApplied: migrations.length };
  }
  await sql`
    create table if not exists schema_migrations (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )
  `.catch(ignoreConcurrentCreate);

  const result: MigrationResult = { applied: [], alreadyApplied: 0 };
  for (const migration of migrations) {
    const applied = await sql.begin(async (tx) => {
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
    });
    if (applied) {
      result.applied.push(migration.name);
      log(`applied ${migration.name}`);
    } else {
      result.alreadyApplied += 1;
    }
  }
  return result;
}

export const MIGRATIONS_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../migrations');

export async function migrateFromDirectory(sql: Sql, directory = MIGRATIONS_DIR, log?: (line: string) => void) {
  return migrate(sql, await readMigrations(directory), log);
}

function checksumOf(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/** version → checksum of the applied migrations; undefined before the first (no schema_migrations table). */
async function recordedChecksums(sql: Sql): Promise<Map<number, string> | undefined> {
  try {
    const rows = await sql<{ version: number; checksum: string }[]>`select version, checksum from schema_migrations`;
    return new Map(rows.map((row) => [row.version, row.checksum]));
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return undefined;
    throw error;
  }
}

/** Two runners racing on `create table if not exists` can collide on the type's unique index. */
function ignoreConcurrentCreate(error: { code?: string }) {
  if (error.code === '23505' || error.code === '42P07') return;
  throw error;
}
