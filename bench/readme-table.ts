import { formatValue, verdict, type Figure } from './report';

/*
 * The README's performance table, written by `npm run bench` from the results it has
 * just saved, so the README quotes the committed run and nothing else (a test checks
 * that it still does).
 */
export interface BenchResults {
  generatedAt: string;
  commit?: string;
  runsPerFigure: number;
  environment: { node: string; cpus: number; postgres: string; database?: string };
  figures: Figure[];
}

const BEGIN = '<!-- bench table: written by `npm run bench` from bench/results/latest.json; do not edit -->';
const END = '<!-- end of bench table -->';

/** Figures without a target that the README shows, for context. */
const CONTEXT = new Set([
  'sync wall time (L=50 ms)',
  'API-bound lower bound',
  'baseline wall time (L=50 ms)',
  'ceiling accounts/s (L=0)',
  'peak RSS, 10,000 accounts',
  'wall time (L=0)',
  'history events per workspace',
  'workspaces before the 25,000-event limit',
]);

export function readmeTable(results: BenchResults): string {
  const rows = results.figures
    .filter((f) => f.target || CONTEXT.has(f.name))
    .map((f) => `| ${f.section} | ${f.name} | ${formatValue(f.value, f.unit)} | ${f.target?.text ?? ''} | ${verdict(f)} |`);
  const postgres = results.environment.postgres.match(/^PostgreSQL [\d.]+/)?.[0] ?? results.environment.postgres;
  return [
    `Run of ${results.generatedAt.slice(0, 10)}${results.commit ? ` at ${results.commit}` : ''}: ${results.environment.cpus} CPUs, Node ${results.environment.node}, ${postgres}; each figure the median of ${results.runsPerFigure}+ runs.`,
    '',
    '| section | figure | median | target | |',
    '|---|---|---:|---|---|',
    ...rows,
  ].join('\n');
}

/** The README with its bench table replaced; throws if the markers are missing. */
export function withBenchTable(readme: string, table: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md lacks the bench table markers (${BEGIN} ... ${END}).`);
  return `${readme.slice(0, begin + BEGIN.length)}\n\n${table}\n\n${readme.slice(end)}`;
}
