/*
 * The checks that keep a poison delivery out of Postgres (issue 19, item 5). Each of these
 * once made the receiver answer 500 forever, so EmailBison retried forever:
 * - NUL (U+0000) in any string: Postgres text and jsonb cannot hold it;
 * - a lone UTF-16 surrogate ("\ud800"): jsonb refuses the escape;
 * - deep nesting (an 80,000-deep array): a stack overflow in whatever walks it recursively;
 * - timestamps Date.parse takes and Postgres does not (+275760-09-13T00:00:00Z), or takes
 *   wrongly ("hello 2026" as 2026-01-01, 2026-02-30 as 2026-03-02);
 * - ids past 2^53, which no JSON number holds exactly.
 * What is refused is answered 400 (a retry cannot fix it); the body is never quoted.
 */

/** Objects and arrays inside one another, the envelope included: a delivery needs 6. */
export const MAX_DEPTH = 20;
/** The latest plausible timestamp is this far past the receiver's clock. */
export const FUTURE_SLACK_MS = 24 * 60 * 60 * 1000;
export const EARLIEST_TIMESTAMP = Date.UTC(2000, 0, 1);
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when the JSON text nests deeper than `max`: one pass over the raw text, outside
 * strings, before JSON.parse or anything recursive sees it.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth -= 1;
  }
  return false;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with the first string (a key or a value) Postgres cannot store, or undefined. Iterative: no depth limit of its own. */
export function unstorableString(value: unknown): string | undefined {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      const problem = stringProblem(item);
      if (problem) return problem;
    } else if (Array.isArray(item)) pending.push(...item);
    else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const problem = stringProblem(key);
        if (problem) return `${problem} in a key`;
        pending.push(child);
      }
    }
  }
  return undefined;
}

function stringProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate';
  return undefined;
}

/** A whole number EmailBison can use as an id: 1..2^53-1, as a JSON number or a string of digits. */
export function wholeId(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 1 ? value : undefined;
  if (typeof value === 'string' && /^[1-9]\d{0,15}$/.test(value)) {
    const id = Number(value);
    return Number.isSafeInteger(id) ? id : undefined;
  }
  return undefined;
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * The milliseconds of a strict ISO-8601 date-time (a real calendar date, an offset or Z),
 * or undefined. Range: 2000-01-01 to a day past `nowMs`.
 */
export function strictTimestampMs(text: string, nowMs: number): number | undefined {
  const match = ISO_8601.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (match[7] !== undefined && (Number(match[8]) > 14 || Number(match[9]) > 59)) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || ms < EARLIEST_TIMESTAMP || ms > nowMs + FUTURE_SLACK_MS) return undefined;
  return ms;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
