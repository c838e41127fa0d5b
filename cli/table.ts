import stringWidth from 'string-width';
import { visible } from './terminal-text';

/**
 * A plain text table: columns padded to their widest cell, numbers right-aligned. Widths are
 * display widths (string-width): an emoji or a CJK character takes two columns, a combining
 * accent none, so a name like "🚀 Rocket Labs" or "東京 Sales" keeps the columns after it aligned.
 * Cells are data, often from EmailBison: control and bidirectional characters are shown
 * escaped (terminal-text.ts), and measured as printed.
 */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '' : visible(String(cell)))));
  const widths = headers.map((header, i) => Math.max(width(header), ...cells.map((row) => width(row[i] ?? ''))));
  const numeric = headers.map((_, i) => cells.length > 0 && cells.every((row) => /^-?[\d,.]+( ms| s)?$|^$/.test(row[i] ?? '')));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (numeric[i] ? pad(cell, widths[i], 'left') : pad(cell, widths[i], 'right')))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Columns the text takes on a terminal (escape sequences take none). */
export function width(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** The text cut to at most `columns` display columns, ending in "…" when cut; never splits a character. */
export function fitWidth(text: string, columns: number): string {
  if (width(text) <= columns) return text;
  if (columns <= 0) return '';
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(stripAnsi(text))) {
    const w = width(segment);
    if (used + w > columns - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

// A cut line loses its colours: a cut in the middle of an escape sequence would garble the terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC.
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

function pad(text: string, size: number, side: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return side === 'left' ? fill + text : text + fill;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatTime(date: Date | null | undefined): string {
  return date
    ? date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';
}

/** A value cut to `max` columns as printed: escaped first (terminal-text.ts), so a cut never hides an escape sequence. */
export function truncateText(text: string | null | undefined, max = 70): string {
  if (!text) return '';
  return fitWidth(visible(text), max);
}
