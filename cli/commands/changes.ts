import type { Sql } from '../../lambdas/db/client';
import { UsageError } from '../../lambdas/errors';
import { withReadContext } from '../context';
import { fail } from '../output';
import { formatTime, table, truncateText } from '../table';
import { plural } from '../words';
import { terminalJson } from '../terminal-text';

/** One row of sender_email_changes as `changes --json` prints it (snake_case, one shape). */
export interface ChangeRow {
  observed_at: Date;
  workspace: string;
  emailbison_id: number;
  email: string | null;
  field: string;
  old_value: unknown;
  new_value: unknown;
  source: 'sync' | 'webhook' | 'events';
  job_id: string | null;
}

const DURATION = /^(\d+)\s*(s|m|h|d)$/i;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

// A time as a digest prints it (Date.toISOString), or any ISO 8601 time with a zone.
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Where `--since` starts: `24h`, `30m`, `7d`, `90s` back from now, or a time (`2026-12-05T03:00:00Z`); undefined for anything else. */
export function parseSince(text: string): { ms: number } | { at: Date } | undefined {
  const trimmed = text.trim();
  if (TIME.test(trimmed)) {
    const at = new Date(trimmed);
    // Date rolls 2026-02-30 over to March 2nd: a day the calendar does not have is refused.
    const [year, month, day] = trimmed.slice(0, 10).split('-').map(Number);
    const real = new Date(Date.UTC(year, month - 1, day));
    const exists = real.getUTCFullYear() === year && real.getUTCMonth() === month - 1 && real.getUTCDate() === day;
    return exists && !Number.isNaN(at.getTime()) ? { at } : undefined;
  }
  const match = DURATION.exec(trimmed);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2].toLowerCase() as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) && ms > 0 ? { ms } : undefined;
}

/** The change rows observed after `since`, newest first; only the named workspaces when given. Read-only. */
export async function listChanges(
  sql: Sql,
  options: { since: { ms: number } | { at: Date }; workspaces?: string[] },
): Promise<ChangeRow[]> {
  const { since } = options;
  const rows = await sql<(Omit<ChangeRow, 'emailbison_id'> & { emailbison_id: string })[]>`
    select c.observed_at, w.name as workspace, c.emailbison_id, c.email, c.field, c.old_value, c.new_value, c.source, c.job_id
    from sender_email_changes c join workspaces w on w.id = c.workspace_id
    where c.observed_at > ${'at' in since ? sql`${since.at}::timestamptz` : sql`now() - ${since.ms / 1000} * interval '1 second'`}
      ${options.workspaces ? sql`and w.name = any(${options.workspaces}::text[])` : sql``}
    order by c.observed_at desc, c.id desc
  `;
  return rows.map((row) => ({ ...row, emailbison_id: Number(row.emailbison_id) }));
}

export async function changesCommand(options: { since?: string; workspaces?: string; json?: boolean }): Promise<void> {
  const since = options.since ?? '24h';
  const from = parseSince(since);
  if (from === undefined)
    fail(new UsageError(`--since takes a duration such as 30m, 24h or 7d, or a time such as 2026-12-05T03:00:00Z; got "${since}"`));
  const workspaces = options.workspaces
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  // A read command: no migration, no write (a read-only transaction), its database named on stderr.
  await withReadContext(async ({ db }) => {
    const rows = await db.read((sql) => listChanges(sql, { since: from, workspaces }));
    // Keys are snake_case already; printJson's key conversion would reach into old_value/new_value, which are data.
    if (options.json) return console.log(terminalJson({ since, changes: rows }, 2));
    if (rows.length === 0) return console.log(`No account changed ${sinceWords(since)}.`);
    // A 'readded' row (id churn, 012) is one account under its email: "re-added", old id → new id.
    console.log(
      table(
        ['observed', 'workspace', 'account', 'field', 'old', 'new', 'source'],
        rows.map((r) => [
          formatTime(r.observed_at),
          r.workspace,
          r.email ?? String(r.emailbison_id),
          r.field === 'readded' ? 're-added' : r.field,
          truncateText(r.field === 'readded' ? `id ${shown(r.old_value)}` : shown(r.old_value), 40),
          truncateText(r.field === 'readded' ? `id ${shown(r.new_value)}` : shown(r.new_value), 40),
          r.source,
        ]),
      ),
    );
    console.log(`\n${plural(rows.length, 'change')} ${sinceWords(since)}.`);
  }).catch(fail);
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sinceWords(since: string): string {
  return TIME.test(since.trim()) ? `since ${since.trim()}` : `in the last ${since}`;
}
