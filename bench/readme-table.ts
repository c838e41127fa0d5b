import { formatValue, verdict, type Figure } from './report';

/*
 * The performance table (docs/performance.md) and the words about its figures, written by
 * `npm run bench -- --write-docs` from the results it saves to bench/results/readme.json,
 * so the page quotes the committed run and nothing else (a test checks that it still does).
 */
export interface BenchResults {
  generatedAt: string;
  commit?: string;
  runsPerFigure: number;
  environment: { node: string; cpus: number; postgres: string; database?: string };
  figures: Figure[];
}

const BEGIN = '<!-- bench table: written by `npm run bench -- --write-docs` from bench/results/readme.json; do not edit -->';
const END = '<!-- end of bench table -->';

/** Figures without a target that the page shows, for context. */
const CONTEXT = new Set([
  'sync wall time (L=50 ms)',
  'API-bound lower bound',
  'baseline wall time (L=50 ms)',
  'ceiling accounts/s (L=0)',
  'peak RSS, 10,000 accounts',
  'wall time (L=0)',
  'history events per workspace',
  'workspaces before the 25,000-event limit',
  'floor: node + postgres.js, one query',
  'sender-sync status',
  'first line through npm',
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
    '',
    ...runNotes(results.figures),
  ].join('\n');
}

/** What this run's figures say in words: the targets met and missed, and how far the API lets the speed-up go. */
export function runNotes(figures: Figure[]): string[] {
  const targeted = figures.filter((f) => f.target);
  const missed = targeted.filter((f) => verdict(f) === 'MISS');
  const notes = [
    `${targeted.length - missed.length} of ${targeted.length} targets met${missed.length ? `; missed: ${missed.map((f) => `${f.section} ${f.name}, ${formatValue(f.value, f.unit)} against ${f.target!.text}`).join('; ')}` : ''}.`,
  ];
  const caps = [...new Set(figures.map((f) => f.section))].flatMap((section) => {
    const figure = (name: string) => figures.find((f) => f.section === section && f.name === name);
    const baseline = figure('baseline wall time (L=50 ms)');
    const bound = figure('API-bound lower bound');
    return baseline && bound ? [`${formatValue(baseline.value / bound.value, 'x')} for ${section}`] : [];
  });
  if (caps.length > 0) {
    notes.push(`The API alone caps the speed-up at baseline / lower bound: ${caps.join(', ')}.`);
  }
  return notes;
}

/** The page with its bench table replaced; throws if the markers are missing. */
export function withBenchTable(readme: string, table: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/performance.md lacks the bench table markers (${BEGIN} ... ${END}).`);
  return `${readme.slice(0, begin + BEGIN.length)}\n\n${table}\n\n${readme.slice(end)}`;
}
