/** One line of the bench table: a figure (a median of `runs` runs), its target and whether it is met. */
export interface Figure {
  section: string;
  name: string;
  value: number;
  unit: string;
  runs: number;
  /** Every run's value, for the JSON. */
  samples?: number[];
  target?: { op: '<' | '<=' | '>=' | '>'; value: number; text: string };
  /** How the figure was computed, with its inputs. */
  note?: string;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function verdict(figure: Figure): 'PASS' | 'MISS' | '' {
  const target = figure.target;
  if (!target) return '';
  const v = figure.value;
  const ok =
    target.op === '<'
      ? v < target.value
      : target.op === '<='
        ? v <= target.value
        : target.op === '>='
          ? v >= target.value
          : v > target.value;
  return ok ? 'PASS' : 'MISS';
}

const WHOLE_UNITS = new Set(['B', 'req', 'ws', 'events']);

export function formatValue(value: number, unit: string, digits = defaultDigits(value, unit)): string {
  if (!Number.isFinite(value)) return String(value);
  const text = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit === 'x' ? `${text}x` : `${text} ${unit}`;
}

function defaultDigits(value: number, unit: string): number {
  if (unit === 'x') return 2;
  if (WHOLE_UNITS.has(unit)) return 0;
  return Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
}

/** One more digit when rounding would hide why a figure missed or met its target (1.153x shown as 1.15x against <= 1.15x). */
function shown(figure: Figure): string {
  const text = formatValue(figure.value, figure.unit);
  if (!figure.target) return text;
  const rounded = Number.parseFloat(text.replace(/,/g, ''));
  const roundedVerdict = verdict({ ...figure, value: rounded });
  return roundedVerdict === verdict(figure) ? text : formatValue(figure.value, figure.unit, defaultDigits(figure.value, figure.unit) + 1);
}

/** The table printed at the end: section, figure, value, target, PASS/MISS; notes under their section. */
export function renderTable(figures: Figure[]): string {
  const rows = figures.map((f) => [f.section, f.name, shown(f), String(f.runs), f.target?.text ?? '', verdict(f)]);
  const header = ['section', 'figure', 'median', 'runs', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 2 || i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  let section = '';
  for (const [index, row] of rows.entries()) {
    if (row[0] !== section && index > 0) out.push('');
    section = row[0];
    out.push(line(row));
  }
  const notes = figures.filter((f) => f.note).map((f) => `  ${f.section} / ${f.name}: ${f.note}`);
  if (notes.length > 0) out.push('', 'How each figure was computed:', ...notes);
  return out.join('\n');
}
