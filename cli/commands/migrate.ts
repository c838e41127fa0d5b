import { loadConfig } from '../../lambdas/config/load-config';
import { migrateFromDirectory } from '../../lambdas/db/migrate';
import { openLocalDatabase } from '../../local/database';
import { fail, printJson } from '../output';

export async function migrateCommand(options: { json?: boolean }): Promise<void> {
  try {
    const config = loadConfig(process.env);
    const db = await openLocalDatabase({ databaseUrl: config.databaseUrl, embeddedDataDir: config.embeddedPostgresDir, migrate: false });
    try {
      const result = await migrateFromDirectory(db.sql, undefined, options.json ? undefined : (line) => console.log(line));
      // One line: a script reading several runs' output takes the last line.
      if (options.json) printJson(result);
      else
        console.log(
          `${result.applied.length} applied, ${result.alreadyApplied} already applied${db.embedded ? ' (embedded Postgres)' : ''}`,
        );
    } finally {
      await db.close();
    }
  } catch (error) {
    fail(error);
  }
}
