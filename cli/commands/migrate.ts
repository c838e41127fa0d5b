import { loadConfig } from '../../lambdas/config/load-config';
import { migrateFromDirectory } from '../../lambdas/db/migrate';
import { migrationLockOptions, openLocalDatabase } from '../../local/database';
import { fail, printJson } from '../output';

export async function migrateCommand(options: { json?: boolean }): Promise<void> {
  try {
    const config = loadConfig(process.env);
    const db = await openLocalDatabase({
      databaseUrl: config.databaseUrl,
      embeddedDataDir: config.embeddedPostgresDir,
      migrate: false,
      part: 'migrate',
      config,
    });
    try {
      const log = options.json ? undefined : (line: string) => console.log(line);
      const result = await migrateFromDirectory(db.sql, undefined, log, migrationLockOptions(config));
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
