import path from 'node:path';
import { checkConnection, createSql, describeDatabaseUrl, sslModeFromUrl, type Sql } from '../lambdas/db/client';
import { migrateFromDirectory } from '../lambdas/db/migrate';
import { SchemaMissingError } from '../lambdas/errors';
import { embeddedClusterExists, LOCAL_STATE_DIR, PROJECT_ROOT, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres';

/**
 * The database a local run uses: DATABASE_URL when set, else the embedded Postgres
 * under .sender-sync/postgres (EMBEDDED_POSTGRES_DIR; kept between runs, so a second run
 * sees the first's rows).
 */
export interface LocalDatabase {
  url: string;
  embedded: boolean;
  /** The embedded server's data directory (relative to the project when inside it). */
  embeddedDataDir?: string;
  /** One line when the embedded server was left running by a process that died, and is reused (and stopped on close). */
  adopted?: string;
  sql: Sql;
  close(): Promise<void>;
}

export async function openLocalDatabase(options: {
  databaseUrl?: string;
  onLog?: (line: string) => void;
  migrate?: boolean;
  /** Default .sender-sync/postgres. */
  embeddedDataDir?: string;
}): Promise<LocalDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let url = options.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: path.resolve(PROJECT_ROOT, options.embeddedDataDir ?? path.join(LOCAL_STATE_DIR, 'postgres')),
      persistent: true,
    });
    url = embedded.url;
  }
  const sql = createSql({ url, ssl: sslModeFromUrl(url), max: 10 });
  try {
    await untilReady(() => checkConnection(sql, embedded ? 'the embedded server' : `${describeDatabaseUrl(url)} (DATABASE_URL)`));
    if (options.migrate !== false) await migrateFromDirectory(sql, undefined, options.onLog);
  } catch (error) {
    await sql.end({ timeout: 1 });
    await embedded?.stop();
    throw error;
  }
  return {
    url,
    embedded: embedded !== undefined,
    embeddedDataDir: embedded ? displayPath(embedded.dataDir) : undefined,
    adopted: embedded?.adopted,
    sql,
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}

/** A database opened to read: never migrated, never created; `read` runs work in a read-only transaction. */
export interface ReadDatabase extends LocalDatabase {
  /** Which database this is, without credentials: `host:port/name`, or `embedded Postgres (.sender-sync/postgres)`. */
  description: string;
  read<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
}

/**
 * The database a read command reads (DATABASE_URL, else the embedded Postgres), as it is:
 * SchemaMissingError when it holds no sender-sync schema, or when the embedded cluster
 * was never created. The read-only guard is per transaction (`begin read only`), not a
 * session setting: on a transaction pooler (Supabase's 6543, PgBouncer) a session SET
 * would stay on a server connection other clients then write through.
 */
export async function openDatabaseForReading(options: { databaseUrl?: string; embeddedDataDir?: string }): Promise<ReadDatabase> {
  const dataDir = path.resolve(PROJECT_ROOT, options.embeddedDataDir ?? path.join(LOCAL_STATE_DIR, 'postgres'));
  if (!options.databaseUrl && !embeddedClusterExists(dataDir)) {
    throw new SchemaMissingError(
      `The embedded Postgres (${displayPath(dataDir)}) does not exist yet: nothing to read. \`npm start\` creates it, or set DATABASE_URL.`,
    );
  }
  const db = await openLocalDatabase({ databaseUrl: options.databaseUrl, migrate: false, embeddedDataDir: dataDir });
  return asReadDatabase(
    db,
    db.embedded ? `embedded Postgres (${db.embeddedDataDir ?? displayPath(dataDir)})` : describeDatabaseUrl(db.url),
  );
}

/** An open database as a read command uses it; closes it and throws SchemaMissingError when it holds no sender-sync schema. */
export async function asReadDatabase(db: LocalDatabase, description: string): Promise<ReadDatabase> {
  const read = <T>(work: (sql: Sql) => Promise<T>) => db.sql.begin('read only', (tx) => work(tx as unknown as Sql)) as Promise<T>;
  try {
    const [{ migrated }] = await read(
      (sql) => sql<{ migrated: boolean }[]>`select to_regclass('schema_migrations') is not null as migrated`,
    );
    if (!migrated) {
      throw new SchemaMissingError(
        `${description} holds no sender-sync schema (no schema_migrations table): nothing read, nothing created. ` +
          "Check that DATABASE_URL names the sync's database; `sender-sync migrate` creates the schema.",
      );
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  return { ...db, description, read };
}

function displayPath(dir: string): string {
  const relative = path.relative(PROJECT_ROOT, dir);
  return relative.startsWith('..') || path.isAbsolute(relative) ? dir : relative;
}

/** A server that accepts TCP connections may still be starting up (57P03): wait for it, briefly. */
async function untilReady(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      const starting = ((error as { cause?: { code?: string } }).cause?.code ?? '') === '57P03';
      if (!starting || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
