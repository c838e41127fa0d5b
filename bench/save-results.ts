import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BenchResults, readmeTable, withBenchTable } from './readme-table';

/*
 * Where a bench run goes. Every run writes latest.json (git-ignored: this machine's last
 * run). Only `npm run bench -- --write-docs` also writes readme.json (committed: the run
 * the README quotes) and rewrites README.md's table from it, so a run to look at a figure
 * leaves the tracked files alone.
 */
export interface BenchOptions {
  writeReadme: boolean;
  /**
   * `--only emailbison`: only the figures of issue 12 (a few minutes), written to latest-emailbison.json;
   * `--only cli`: issue 14's start-up; `--only write`: only item 4, the write path (history on);
   * `--only webhooks`: issue 19's webhook intake (latency of a burst, the applier's events/s); `--only scale`: issue 22's scheduling figures;
   * `--only compat`: issue 23's dashboard reads through email_accounts_view against sender_emails, and compat's triggers on the write path.
   */
  only?: BenchGroup;
}

export const BENCH_GROUPS = ['emailbison', 'cli', 'write', 'webhooks', 'scale', 'compat'] as const;
export type BenchGroup = (typeof BENCH_GROUPS)[number];

export interface BenchPaths {
  latest: string;
  quoted: string;
  readme: string;
}

export const USAGE = `usage: npm run bench [-- --write-docs | --only ${BENCH_GROUPS.join('|')}]`;

export function parseBenchArgs(args: string[]): BenchOptions {
  const rest = [...args];
  let only: BenchGroup | undefined;
  const at = rest.indexOf('--only');
  if (at >= 0) {
    const group = rest[at + 1];
    if (!BENCH_GROUPS.includes(group as BenchGroup))
      throw new Error(`--only takes one of ${BENCH_GROUPS.join(', ')}; got ${group ?? 'nothing'}. ${USAGE}`);
    only = group as BenchGroup;
    rest.splice(at, 2);
  }
  const unknown = rest.filter((arg) => arg !== '--write-docs');
  if (unknown.length > 0) throw new Error(`Unknown bench argument(s): ${unknown.join(' ')}. ${USAGE}`);
  const writeReadme = rest.includes('--write-docs');
  // The performance page's table quotes a whole run: a partial one must not replace it.
  if (only && writeReadme) throw new Error(`--write-docs needs the whole bench, not --only ${only}. ${USAGE}`);
  return only ? { writeReadme, only } : { writeReadme };
}

export function benchPaths(root: string): BenchPaths {
  return {
    latest: path.join(root, 'bench', 'results', 'latest.json'),
    quoted: path.join(root, 'bench', 'results', 'readme.json'),
    readme: path.join(root, 'docs', 'performance.md'),
  };
}

/** Writes the run's results; returns the files written. */
export function saveResults(results: BenchResults, options: BenchOptions, paths: BenchPaths): string[] {
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const latest = options.only ? paths.latest.replace(/\.json$/, `-${options.only}.json`) : paths.latest;
  mkdirSync(path.dirname(latest), { recursive: true });
  writeFileSync(latest, json);
  if (!options.writeReadme) return [latest];
  // The page first: if its markers are missing, nothing tracked changes.
  const readme = withBenchTable(readFileSync(paths.readme, 'utf8'), readmeTable(results));
  writeFileSync(paths.quoted, json);
  writeFileSync(paths.readme, readme);
  return [paths.latest, paths.quoted, paths.readme];
}
