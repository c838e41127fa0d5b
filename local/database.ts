import path from 'node:path';
import { checkConnection, createSql, describeDatabaseUrl, sslModeFromUrl, type Sql } from '../lambdas/db/client';
import { migrateFromDirectory } from '../lambdas/db/migrate';
import { LOCAL_STATE_DIR, PROJECT_ROOT, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres';

/**
 * The database a local run uses: DATABASE_URL when set, else the embedded Postgres
 * under .sender-sync/postgres (kept between runs, so a second run sees the first's rows).
 */
export interface LocalDatabase {
  url: string;
  embedded: boolean;
  /** The embedded server's data directory (relative to the project when inside it). */
  embeddedDataDir?: string;
  sql: Sql;
  close(): Promise<void>;
}

export async function openLocalDatabase(options: {
  databaseUrl?: string;
  onLog?: (line: string) => void;
  migrate?: boolean;
}): Promise<LocalDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let url = options.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(LOCAL_STATE_DIR, 'postgres'), persistent: true });
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
    sql,
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
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
