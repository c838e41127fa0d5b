// The CLI bundle's entry (cli/bundle.mjs): runs the program cli/main.ts defines on this process's arguments.
import { program } from './main';

// `sender-sync status | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await program.parseAsync(process.argv);
