import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BenchResults, readmeTable, withBenchTable } from './readme-table';

/*
 * Where a bench run goes. Every run writes latest.json (git-ignored: this machine's last
 * run). Only `npm run bench -- --write-readme` also writes readme.json (committed: the run
 * the README quotes) and rewrites README.md's table from it, so a run to look at a figure
 * leaves the tracked files alone.
 */
export interface BenchOptions {
  writeReadme: boolean;
}

export interface BenchPaths {
  latest: string;
  quoted: string;
  readme: string;
}

export const USAGE = 'usage: npm run bench [-- --write-readme]';

export function parseBenchArgs(args: string[]): BenchOptions {
  const unknown = args.filter((arg) => arg !== '--write-readme');
  if (unknown.length > 0) throw new Error(`Unknown bench argument(s): ${unknown.join(' ')}. ${USAGE}`);
  return { writeReadme: args.includes('--write-readme') };
}

export function benchPaths(root: string): BenchPaths {
  return {
    latest: path.join(root, 'bench', 'results', 'latest.json'),
    quoted: path.join(root, 'bench', 'results', 'readme.json'),
    readme: path.join(root, 'README.md'),
  };
}

/** Writes the run's results; returns the files written. */
export function saveResults(results: BenchResults, options: BenchOptions, paths: BenchPaths): string[] {
  const json = `${JSON.stringify(results, null, 2)}\n`;
  mkdirSync(path.dirname(paths.latest), { recursive: true });
  writeFileSync(paths.latest, json);
  if (!options.writeReadme) return [paths.latest];
  // The README first: if its markers are missing, nothing tracked changes.
  const readme = withBenchTable(readFileSync(paths.readme, 'utf8'), readmeTable(results));
  writeFileSync(paths.quoted, json);
  writeFileSync(paths.readme, readme);
  return [paths.latest, paths.quoted, paths.readme];
}
