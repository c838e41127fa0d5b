import type { SenderEmail, SenderEmailTag } from '../emailbison/client';

/**
 * A batch as the one text parameter the upsert statement reads: one JSON row
 * `[id, raw item, corrections]` per account, rows separated by U+001E (the statement
 * splits on chr(30)). One parameter has no 65,534-parameter limit, and each row is
 * parsed on its own by Postgres, which parses many small jsonb values faster than one
 * large one. The raw item travels once: the typed columns are read from it, except
 * where parsing normalised a value, which `corrections` carries and which wins.
 */
export interface BatchText {
  rows: string;
  /** Distinct accounts in `rows`. */
  count: number;
  /** Ids to count as seen without writing them (invalid items, which must not be removed). */
  alsoSeenIds: number[];
  /** When the earliest page of the batch was fetched (epoch ms); unknown: no webhook change is newer. */
  fetchedAtMs?: number;
}

const RECORD_SEPARATOR = '\u001e';

/**
 * Builds the text in slices with a turn of the event loop between them: postgres.js
 * sends an unprepared statement in two round trips (Parse/Describe, then Bind/Execute),
 * and a batch built in one go (~15 ms of CPU for 2,000 accounts) would hold back the
 * Bind of the statement in flight (see BatchWriter).
 */
export async function buildBatchText(accounts: SenderEmail[], alsoSeenIds: number[], fetchedAtMs?: number): Promise<BatchText> {
  const rows = dedupeById(accounts);
  const parts: string[] = [];
  for (let start = 0; start < rows.length; start += SLICE) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    parts.push(batchRows(rows.slice(start, start + SLICE)));
  }
  return { rows: parts.join(RECORD_SEPARATOR), count: rows.length, alsoSeenIds, fetchedAtMs };
}

const SLICE = 250;

/** Pages can shift while they are read: the same account may arrive twice; the last copy wins. */
export function dedupeById(accounts: SenderEmail[]): SenderEmail[] {
  const byId = new Map<number, SenderEmail>();
  for (const account of accounts) byId.set(account.id, account);
  return byId.size === accounts.length ? accounts : [...byId.values()];
}

/**
 * JSON.stringify always escapes U+001E inside strings, so the separator never occurs in
 * a row. Postgres text and jsonb cannot hold U+0000: it is dropped; everything else is
 * stored verbatim.
 */
function batchRows(accounts: SenderEmail[]): string {
  const text = accounts.map((account) => JSON.stringify([account.id, account.raw, corrections(account)])).join(RECORD_SEPARATOR);
  return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1') : text;
}

const INT4_MAX = 2_147_483_647;

const AS_SERVED_COLUMNS = [
  ['email', 'email'],
  ['name', 'name'],
  ['emailSignature', 'email_signature'],
  ['type', 'type'],
  ['status', 'status'],
  ['warmupEnabled', 'warmup_enabled'],
] as const;
const INT4_COLUMNS = [
  ['dailyLimit', 'daily_limit'],
  ['emailsSentCount', 'emails_sent_count'],
  ['totalRepliedCount', 'total_replied_count'],
  ['uniqueRepliedCount', 'unique_replied_count'],
  ['totalOpenedCount', 'total_opened_count'],
  ['uniqueOpenedCount', 'unique_opened_count'],
  ['bouncedCount', 'bounced_count'],
  ['unsubscribedCount', 'unsubscribed_count'],
  ['interestedLeadsCount', 'interested_leads_count'],
  ['totalLeadsContactedCount', 'total_leads_contacted_count'],
] as const;
const TIMESTAMP_COLUMNS = [
  ['createdAt', 'created_at'],
  ['updatedAt', 'updated_at'],
] as const;

/**
 * The typed values the upsert statement would not read from the raw item as they are
 * (a counter served as a string, a date in another format, a field of the wrong type):
 * empty for a well-formed item. A value is left out only when reading the raw field
 * gives exactly it (the same string, integer or boolean, or null for null or missing).
 */
function corrections(account: SenderEmail): Record<string, unknown> {
  const raw = account.raw;
  const out: Record<string, unknown> = {};
  for (const [field, key] of AS_SERVED_COLUMNS) {
    if (!readsAs(raw[key], account[field])) out[key] = account[field];
  }
  for (const [field, key] of INT4_COLUMNS) {
    const value = int4(account[field]);
    if (!readsAs(raw[key], value)) out[key] = value;
  }
  for (const [field, key] of TIMESTAMP_COLUMNS) {
    const value = timestamp(account[field]);
    if (!(value === null ? raw[key] == null : sameInstantText(raw[key], value))) out[key] = value;
  }
  if (!sameTags(account.tags, raw.tags)) out.tags = account.tags;
  return out;
}

/** The raw tags hold exactly the parsed ones: the same {id, name, default} objects, in order. */
function sameTags(tags: SenderEmailTag[], raw: unknown): boolean {
  if (!Array.isArray(raw) || raw.length !== tags.length) return false;
  return tags.every((tag, i) => {
    const served = raw[i] as Record<string, unknown> | null;
    return (
      served !== null &&
      typeof served === 'object' &&
      served.id === tag.id &&
      served.name === tag.name &&
      served.default === tag.default &&
      Object.keys(served).length === 3
    );
  });
}

function readsAs(raw: unknown, value: unknown): boolean {
  return value === null ? raw == null : raw === value;
}

/** Postgres reads an ISO UTC timestamp with 3 or 6 (zero-padded) fractional digits as the instant JS does. */
function sameInstantText(raw: unknown, iso: string): boolean {
  return raw === iso || raw === `${iso.slice(0, -1)}000Z`;
}

/** A counter too large for the column is stored as null; `raw` keeps the value as served. */
function int4(value: number | null): number | null {
  return value !== null && Number.isSafeInteger(value) && Math.abs(value) <= INT4_MAX ? value : null;
}

/** An unparseable date is stored as null rather than failing the batch; `raw` keeps it. */
function timestamp(value: string | null): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
