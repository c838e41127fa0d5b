#!/usr/bin/env node
// Runs the CLI from its esbuild bundle (dist/, built by `npm ci` and rebuilt here when a
// source changed: cli/bundle.mjs), in this process: signals reach the CLI itself.
import { pathToFileURL } from 'node:url';
import { freshCliBundle } from '../cli/bundle.mjs';

let entry;
try {
  entry = await freshCliBundle();
} catch (error) {
  console.error(`sender-sync: could not build the CLI (node cli/bundle.mjs): ${error.message}`);
  process.exit(1);
}
await import(pathToFileURL(entry).href);
