import type { Sql } from '../../lambdas/db/client';
import { UsageError } from '../../lambdas/errors';
import { withReadContext } from '../context';
import { fail } from '../output';
import { formatTime, table, truncateText } from '../table';
import { plural } from '../words';

/** One row of sender_email_changes as `changes --json` prints it (snake_case, one shape). */
export interface ChangeRow {
  observed_at: Date;
  workspace: string;
  emailbison_id: number;
  email: string | null;
  field: string;
  old_value: unknown;
  new_value: unknown;
  source: 'sync' | 'webhook';
  job_id: string | null;
}

const DURATION = /^(\d+)\s*(s|m|h|d)$/i;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `24h`, `30m`, `7d`, `90s` as milliseconds; undefined for anything else. */
export function parseSince(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2].toLowerCase() as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** The change rows observed in the last `sinceMs`, newest first; only the named workspaces when given. Read-only. */
export async function listChanges(sql: Sql, options: { sinceMs: number; workspaces?: string[] }): Promise<ChangeRow[]> {
  const rows = await sql<(Omit<ChangeRow, 'emailbison_id'> & { emailbison_id: string })[]>`
    select c.observed_at, w.name as workspace, c.emailbison_id, c.email, c.field, c.old_value, c.new_value, c.source, c.job_id
    from sender_email_changes c join workspaces w on w.id = c.workspace_id
    where c.observed_at > now() - ${options.sinceMs / 1000} * interval '1 second'
      ${options.workspaces ? sql`and w.name = any(${options.workspaces}::text[])` : sql``}
    order by c.observed_at desc, c.id desc
  `;
  return rows.map((row) => ({ ...row, emailbison_id: Number(row.emailbison_id) }));
}

export async function changesCommand(options: { since?: string; workspaces?: string; json?: boolean }): Promise<void> {
  const since = options.since ?? '24h';
  const sinceMs = parseSince(since);
  if (sinceMs === undefined) fail(new UsageError(`--since takes a duration such as 30m, 24h or 7d; got "${since}"`));
  const workspaces = options.workspaces
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  // A read command: no migration, no write (a read-only transaction), its database named on stderr.
  await withReadContext(async ({ db }) => {
    const rows = await db.read((sql) => listChanges(sql, { sinceMs, workspaces }));
    // Keys are snake_case already; printJson's key conversion would reach into old_value/new_value, which are data.
    if (options.json) return console.log(JSON.stringify({ since, changes: rows }, null, 2));
    if (rows.length === 0) return console.log(`No account changed in the last ${since}.`);
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
    console.log(`\n${plural(rows.length, 'change')} in the last ${since}.`);
  }).catch(fail);
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
