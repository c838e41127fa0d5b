#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx sender-sync` needs no build step.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = pathToFileURL(require.resolve('tsx')).href;
const result = spawnSync(process.execPath, ['--import', tsx, path.join(root, 'cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
