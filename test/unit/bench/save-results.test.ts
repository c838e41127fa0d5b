import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchResults } from '../../../bench/readme-table';
import { benchPaths, parseBenchArgs, saveResults } from '../../../bench/save-results';
import { tempDir } from '../../helpers/cleanup';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const results = JSON.parse(readFileSync(path.join(ROOT, 'bench/results/readme.json'), 'utf8')) as BenchResults;

/** A project root in a temp dir with the real performance page, so nothing tracked is touched. */
function scratchRoot() {
  const root = tempDir('ss-bench-');
  const paths = benchPaths(root);
  const readme = readFileSync(path.join(ROOT, 'docs', 'performance.md'), 'utf8').replace(/^Run of .*$/m, 'Run of some other day.');
  mkdirSync(path.dirname(paths.readme), { recursive: true });
  writeFileSync(paths.readme, readme);
  return { paths, readme };
}

describe('npm run bench', () => {
  it('takes --write-docs and nothing else', () => {
    expect(parseBenchArgs([])).toEqual({ writeReadme: false });
    expect(parseBenchArgs(['--write-docs'])).toEqual({ writeReadme: true });
    expect(() => parseBenchArgs(['--write-reedme'])).toThrow(/Unknown bench argument\(s\): --write-reedme/);
  });

  it('takes --only emailbison (issue 12) or cli (issue 14 start-up) alone, never with --write-docs', () => {
    expect(parseBenchArgs(['--only', 'emailbison'])).toEqual({ writeReadme: false, only: 'emailbison' });
    expect(parseBenchArgs(['--only', 'cli'])).toEqual({ writeReadme: false, only: 'cli' });
    expect(parseBenchArgs(['--only', 'write'])).toEqual({ writeReadme: false, only: 'write' });
    expect(parseBenchArgs(['--only', 'webhooks'])).toEqual({ writeReadme: false, only: 'webhooks' });
    expect(parseBenchArgs(['--only', 'scale'])).toEqual({ writeReadme: false, only: 'scale' });
    expect(() => parseBenchArgs(['--only', 'emailbisn'])).toThrow(
      /--only takes one of emailbison, cli, write, webhooks, scale, compat; got emailbisn/,
    );
    expect(() => parseBenchArgs(['--only'])).toThrow(/got nothing/);
    expect(() => parseBenchArgs(['--only', 'emailbison', '--write-docs'])).toThrow(/--write-docs needs the whole bench/);
  });

  it('with --only, writes latest-<group>.json and leaves latest.json alone', () => {
    const { paths } = scratchRoot();
    const written = saveResults(results, { writeReadme: false, only: 'emailbison' }, paths);
    expect(written).toEqual([paths.latest.replace(/latest\.json$/, 'latest-emailbison.json')]);
    expect(existsSync(paths.latest)).toBe(false);
  });

  it('writes latest.json and leaves the performance page and the quoted run alone by default', () => {
    const { paths, readme } = scratchRoot();
    expect(saveResults(results, { writeReadme: false }, paths)).toEqual([paths.latest]);
    expect(JSON.parse(readFileSync(paths.latest, 'utf8'))).toEqual(results);
    expect(readFileSync(paths.readme, 'utf8')).toBe(readme);
    expect(existsSync(paths.quoted)).toBe(false);
  });

  it('with --write-docs, also saves the quoted run and rewrites the page table from it', () => {
    const { paths, readme } = scratchRoot();
    expect(saveResults(results, { writeReadme: true }, paths)).toEqual([paths.latest, paths.quoted, paths.readme]);
    expect(JSON.parse(readFileSync(paths.quoted, 'utf8'))).toEqual(results);
    const rewritten = readFileSync(paths.readme, 'utf8');
    expect(rewritten).not.toBe(readme);
    expect(rewritten).toBe(readFileSync(path.join(ROOT, 'docs', 'performance.md'), 'utf8'));
  });
});
