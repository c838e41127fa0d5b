import { Command } from 'commander';
import { migrateCommand } from './commands/migrate';

const program = new Command()
  .name('sender-sync')
  .description('Keep a Postgres copy of every EmailBison sender account.')
  .showHelpAfterError();

program
  .command('migrate')
  .description('apply the SQL migrations to DATABASE_URL (or the embedded Postgres when it is unset)')
  .option('--json', 'print the result as JSON')
  .action(migrateCommand);

await program.parseAsync(process.argv);
