import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSenderEmail, type SenderEmail } from '../../../lambdas/emailbison/schema';
import { upsertSenderEmails } from '../../../lambdas/sync/upsert';
import { createTestDatabase } from '../../helpers/database';

/*
 * sender_email_daily as the write path keeps it: counters written only when they move,
 * today's row and the previous counters' day as its base; the per-day query of docs/webhooks.md then
 * gives the day's sending as the difference of lifetime totals.
 */
const db = await createTestDatabase();
const [{ id: workspaceId }] = await db.sql<{ id: number }[]>`
  insert into workspaces (name, base_url, api_key_ref) values ('Daily Co', 'https://send.example.com', 'env:DAILY_KEY') returning id
`;

function account(sent: number): SenderEmail {
  const parsed = parseSenderEmail(
    { id: 77, email: 'inbox@daily.example.com', status: 'Connected', emails_sent_count: sent, bounced_count: 1 },
    0,
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.item;
}
const write = (sent: number) => upsertSenderEmails(db.sql, { jobId: randomUUID(), workspaceId }, [account(sent)]);
const daily = () =>
  db.sql<{ days_ago: number; emails_sent_count: number }[]>`
    select (now() at time zone 'utc')::date - day as days_ago, emails_sent_count from sender_email_daily order by day
  `;
const sentPerDay = readFileSync(path.resolve(import.meta.dirname, '../../../docs/webhooks.md'), 'utf8').match(
  /<!-- dashboard query: sent-per-day -->\s*```sql\n([\s\S]*?)```/,
)![1];

describe('daily counters', () => {
  it("write today's totals and the previous totals' day only when the counters move, and give the day's sending as a difference", async () => {
    await write(100);
    expect(await daily()).toEqual([]); // first sight: nothing moved yet

    // The stored totals were last written two days ago; today they moved.
    await db.sql`update sender_emails set last_synced_at = now() - interval '2 days' where emailbison_id = 77`;
    await write(130);
    expect(await daily()).toEqual([
      { days_ago: 2, emails_sent_count: 100 },
      { days_ago: 0, emails_sent_count: 130 },
    ]);

    await write(150); // later the same day: today's row takes the day's last totals
    await write(150); // unchanged: nothing written
    expect(await daily()).toEqual([
      { days_ago: 2, emails_sent_count: 100 },
      { days_ago: 0, emails_sent_count: 150 },
    ]);
    const rows = await db.sql.unsafe(sentPerDay);
    expect(rows.filter((r) => Number(r.sent) !== 0).map((r) => [r.workspace, Number(r.sent)])).toEqual([['Daily Co', 50]]);
  });
});
