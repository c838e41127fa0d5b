import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeTable, runNotes, withBenchTable, type BenchResults } from '../../../bench/readme-table';
import type { Figure } from '../../../bench/report';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const results = JSON.parse(readFileSync(path.join(ROOT, 'bench/results/readme.json'), 'utf8')) as BenchResults;

describe('the performance table (docs/performance.md)', () => {
  it('is the committed bench run (`npm run bench -- --write-docs` rewrites both)', () => {
    const readme = readFileSync(path.join(ROOT, 'docs', 'performance.md'), 'utf8');
    expect(withBenchTable(readme, readmeTable(results))).toBe(readme);
  });

  it('shows every targeted figure with its verdict', () => {
    const table = readmeTable(results);
    const targeted = results.figures.filter((f) => f.target);
    expect(targeted.length).toBeGreaterThanOrEqual(11);
    for (const figure of targeted)
      expect(table).toMatch(
        new RegExp(
          `\\| ${figure.name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\| [^|]+ \\| ${figure.target!.text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\| (PASS|MISS) \\|`,
        ),
      );
  });

  it('says in words which targets were missed and the speed-up the API allows, from the figures alone', () => {
    const figure = (section: string, name: string, value: number, target?: Figure['target']): Figure => ({
      section,
      name,
      value,
      unit: name.includes('speed-up') ? 'x' : 'ms',
      runs: 3,
      target,
    });
    const atLeast3 = { op: '>=' as const, value: 3, text: '>= 3x' };
    const figures = [
      figure('a', 'API-bound lower bound', 2000),
      figure('a', 'baseline wall time (L=50 ms)', 6000),
      figure('a', 'speed-up vs baseline', 2.5, atLeast3),
      figure('b', 'speed-up vs baseline', 3.5, atLeast3),
    ];
    expect(runNotes(figures)).toEqual([
      '1 of 2 targets met; missed: a speed-up vs baseline, 2.50x against >= 3x.',
      'The API alone caps the speed-up at baseline / lower bound: 3.00x for a.',
    ]);
    expect(runNotes(figures.slice(3))).toEqual(['1 of 1 targets met.']);
  });

  it('refuses a README without its markers', () => {
    expect(() => withBenchTable('# no table here', 'x')).toThrow(/lacks the bench table markers/);
  });
});
