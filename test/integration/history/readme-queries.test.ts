import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../helpers/database';

/*
 * The dashboard queries of docs/webhooks.md ("Changes, digests and webhooks"), read from the page as
 * it is and run against the test database on rows made here: what a reader copies works.
 */
const README = readFileSync(path.resolve(import.meta.dirname, '../../../docs/webhooks.md'), 'utf8');

function readmeQuery(name: string): string {
  const match = new RegExp(`<!-- dashboard query: ${name} -->\\s*\`\`\`sql\\n([\\s\\S]*?)\`\`\``).exec(README);
  if (!match) throw new Error(`docs/webhooks.md has no dashboard query "${name}"`);
  return match[1];
}

const db = await createTestDatabase();
let north: number;
let south: number;

beforeAll(async () => {
  [{ id: north }, { id: south }] = await db.sql<{ id: number }[]>`
    insert into workspaces (name, base_url, api_key_ref) values
      ('North', 'https://north.example.com', 'env:NORTH_KEY'), ('South', 'https://south.example.com', 'env:SOUTH_KEY')
    returning id
  `;
  const job = '00000000-0000-4000-8000-000000000001';
  const change = (workspace: number, id: number, email: string, from: string, to: string, hoursAgo: number) => ({
    workspace_id: workspace,
    emailbison_id: id,
    email,
    field: 'status',
    old_value: from,
    new_value: to,
    observed_at: new Date(Date.now() - hoursAgo * 3_600_000),
    source: 'sync',
    job_id: job,
  });
  for (const row of [
    change(north, 1, 'a@north.example.com', 'Connected', 'Not connected', 2),
    change(north, 2, 'b@north.example.com', 'Connected', 'Disconnected', 30), // too old
    change(north, 3, 'c@north.example.com', 'Not connected', 'Connected', 1), // a reconnection
    change(south, 4, 'd@south.example.com', 'Connected', 'Not connected', 5),
  ]) {
    await db.sql`
      insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, observed_at, source, job_id)
      values (${row.workspace_id}, ${row.emailbison_id}, ${row.email}, ${row.field}, to_jsonb(${row.old_value}::text), to_jsonb(${row.new_value}::text),
              ${row.observed_at}, ${row.source}, ${row.job_id})
    `;
  }
  // Lifetime totals on the days they changed (days before today, UTC).
  const daily = [
    [north, 1, 40, 1_000], // before the 30 days: the base of the next row
    [north, 1, 3, 1_050],
    [north, 1, 1, 1_080],
    [north, 2, 3, 500],
    [north, 2, 1, 520],
    [south, 4, 2, 70], // its first row: a starting total, not a day's sending
  ];
  for (const [workspace, id, daysAgo, sent] of daily) {
    await db.sql`
      insert into sender_email_daily (workspace_id, emailbison_id, day, emails_sent_count)
      values (${workspace}, ${id}, (now() at time zone 'utc')::date - ${daysAgo}::int, ${sent})
    `;
  }
});
afterAll(() => db.sql`delete from sender_email_changes`);

describe('the dashboard queries (docs/webhooks.md)', () => {
  it('list the accounts disconnected in the last 24 hours, newest first', async () => {
    const rows = await db.sql.unsafe(readmeQuery('disconnected-24h'));
    expect(rows.map((r) => [r.workspace, r.email, r.status_before, r.status_after, r.source])).toEqual([
      ['North', 'a@north.example.com', 'Connected', 'Not connected', 'sync'],
      ['South', 'd@south.example.com', 'Connected', 'Not connected', 'sync'],
    ]);
  });

  it('give each workspace 30 UTC days of emails sent, the difference of consecutive lifetime totals', async () => {
    const rows = await db.sql.unsafe(readmeQuery('sent-per-day'));
    expect(rows).toHaveLength(60);
    const [{ today }] = await db.sql<{ today: Date }[]>`select (now() at time zone 'utc')::date as today`;
    const daysAgo = (day: Date) => Math.round((today.getTime() - new Date(day).getTime()) / 86_400_000);
    const nonZero = rows.filter((r) => Number(r.sent) !== 0).map((r) => [r.workspace, daysAgo(r.day), Number(r.sent)]);
    // North: account 1 sent 50 (3 days ago, from the total 37 days before) and 30; account 2 sent 20.
    expect(nonZero).toEqual([
      ['North', 3, 50],
      ['North', 1, 50],
    ]);
    expect(rows.filter((r) => r.workspace === 'North').map((r) => daysAgo(r.day))).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
  });
});
