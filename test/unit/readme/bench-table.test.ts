import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeTable, withBenchTable, type BenchResults } from '../../../bench/readme-table';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const results = JSON.parse(readFileSync(path.join(ROOT, 'bench/results/latest.json'), 'utf8')) as BenchResults;

describe('the README performance table', () => {
  it('is the committed bench run (`npm run bench` rewrites both)', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(withBenchTable(readme, readmeTable(results))).toBe(readme);
  });

  it('shows every targeted figure with its verdict', () => {
    const table = readmeTable(results);
    const targeted = results.figures.filter((f) => f.target);
    expect(targeted.length).toBeGreaterThanOrEqual(11);
    for (const figure of targeted) expect(table).toMatch(new RegExp(`\\| ${figure.name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\| [^|]+ \\| ${figure.target!.text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\| (PASS|MISS) \\|`));
  });

  it('refuses a README without its markers', () => {
    expect(() => withBenchTable('# no table here', 'x')).toThrow(/lacks the bench table markers/);
  });
});
