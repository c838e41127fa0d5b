import { spawn } from 'node:child_process';
import { openDatabaseForReading } from '../../local/database';
import { EXIT, fail } from '../output';

/**
 * `sender-sync psql`: psql on the database the CLI reads (DATABASE_URL, else the embedded
 * Postgres, started for the session when no run holds it). The password goes to psql in
 * PGPASSWORD, never on its command line, where `ps` would show it.
 */
export async function psqlCommand(args: string[]): Promise<void> {
  try {
    const db = await openDatabaseForReading({ databaseUrl: process.env.DATABASE_URL });
    console.error(`database: ${db.description}`);
    const url = new URL(db.url);
    const password = decodeURIComponent(url.password);
    url.password = '';
    // psql takes Ctrl-C itself (it cancels the query): this process must outlive it to stop the embedded server.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    try {
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn('psql', [url.toString(), ...args], {
          stdio: 'inherit',
          env: { ...process.env, PGPASSWORD: password, PGAPPNAME: 'sender-sync:psql' },
        });
        child.on('error', (error: NodeJS.ErrnoException) =>
          reject(
            error.code === 'ENOENT'
              ? new Error('psql is not installed: install the PostgreSQL client (apt-get install postgresql-client).')
              : error,
          ),
        );
        child.on('exit', (exitCode) => resolve(exitCode ?? EXIT.error));
      });
      process.exitCode = code;
    } finally {
      process.off('SIGINT', ignore);
      await db.close();
    }
  } catch (error) {
    fail(error);
  }
}
