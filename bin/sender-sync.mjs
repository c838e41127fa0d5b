#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx sender-sync` needs no build step.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = pathToFileURL(require.resolve('tsx')).href;
const child = spawn(process.execPath, ['--import', tsx, path.join(root, 'cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// A signal sent to this wrapper alone (kill, a supervisor) reaches the CLI, which stops its
// run and marks the job failed; a terminal's Ctrl-C reaches both, which the CLI counts once.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('error', (error) => {
  console.error(`sender-sync: could not start the CLI: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
