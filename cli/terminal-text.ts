/*
 * Text from EmailBison or a webhook delivery (account emails and names, workspace names,
 * tags, status text, error messages quoting an upstream body) is data, and a terminal
 * obeys what it prints: `ESC[2J` clears the screen, `ESC]0;…BEL` sets the window title,
 * CR rewrites a line, and a bidirectional override (U+202E) shows `moc.live@` for
 * `@evil.com` (Trojan Source, CVE-2021-42574). So every such value is printed with those
 * characters escaped visibly, `\x1b` or `\u202e`: here, once, for the tables (table.ts),
 * the run's progress, the error line and the JSON every command prints.
 */

// C0 controls (ESC, BEL, CR, LF, TAB...), DEL, C1 controls (U+009B is a one-character CSI on
// some terminals), the bidirectional marks, embeddings, overrides and isolates, and the
// Unicode line and paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, less LF.
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// What JSON.stringify leaves as it is (it escapes only U+0000-U+001F).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value on one line: every control and bidirectional character escaped (`\x1b`, `\x0a`, `\u202e`). */
export function visible(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** A block of lines: as visible, line breaks kept. */
export function visibleLines(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, escapeChar);
}

/**
 * JSON.stringify, with what it leaves raw and a terminal obeys (DEL, C1, bidirectional
 * characters) written as \u escapes: the same JSON value, safe to print. These characters
 * can only occur inside strings, where a \u escape means the same character.
 */
export function terminalJson(value: unknown, space?: number): string {
  const json = JSON.stringify(value, null, space) ?? 'undefined';
  return json.replace(UNSAFE_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
