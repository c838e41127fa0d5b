import { describe, expect, it } from 'vitest';
import { upsertSenderEmails } from '../../../lambdas/sync/upsert';
import { parseSenderEmail, type SenderEmail } from '../../../lambdas/emailbison/schema';
import { buildWorkspaces, scenarioSpec } from '../../../sim/scenarios';
import { createTestDatabase } from '../../helpers/database';

const db = await createTestDatabase();

function tidewaterAccounts(): SenderEmail[] {
  const ws = buildWorkspaces(scenarioSpec('seed-2025')).find((w) => w.name === 'Tidewater Consulting')!;
  return ws.accounts.map((raw, i) => {
    const parsed = parseSenderEmail(raw, i);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.item;
  });
}

describe('writing a 433-account workspace', () => {
  it('takes tens of milliseconds in one statement, not seconds (the benchmark proves the figure)', async () => {
    const accounts = tidewaterAccounts();
    expect(accounts).toHaveLength(433);
    const [ws] = await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Tidewater Consulting', 'http://127.0.0.1:1', 'env:X') returning id`;
    const timings: number[] = [];
    for (let run = 0; run < 5; run++) {
      const [job] = await db.sql`insert into polling_job_status (job_name, status) values (${`speed-${run}`}, 'completed') returning id`;
      if (run > 0) await db.sql`update sender_emails set raw = raw || '{"touched": true}'::jsonb`;
      const start = performance.now();
      const result = await upsertSenderEmails(db.sql, { jobId: job.id, workspaceId: ws.id }, accounts);
      timings.push(performance.now() - start);
      expect(result.inserted + result.updated).toBe(433);
    }
    const median = [...timings].sort((a, b) => a - b)[2];
    console.log(`[write-speed] 433 accounts, one statement: median ${median.toFixed(1)} ms over 5 writes (${timings.map((t) => t.toFixed(1)).join(', ')} ms)`);
    expect(await db.sql`select count(*)::int as n from sender_emails`).toEqual([{ n: 433 }]);
    // A wide bound so a loaded machine cannot fail it; the replaced system took 4-5 s.
    expect(median).toBeLessThan(1000);
  });

  it('writes duplicates within a batch once, the last copy winning', async () => {
    const [a, b] = tidewaterAccounts();
    const [ws] = await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Dup Co', 'http://127.0.0.1:1', 'env:X') returning id`;
    const [job] = await db.sql`insert into polling_job_status (job_name, status) values ('dups', 'completed') returning id`;
    const changed = { ...a, name: 'Renamed', raw: { ...a.raw, name: 'Renamed' } };
    const result = await upsertSenderEmails(db.sql, { jobId: job.id, workspaceId: ws.id }, [a, b, changed]);
    expect(result).toEqual({ inserted: 2, updated: 0 });
    const rows = await db.sql`select emailbison_id, name from sender_emails where workspace_id = ${ws.id} order by emailbison_id`;
    expect(rows).toEqual([{ emailbison_id: a.id, name: 'Renamed' }, { emailbison_id: b.id, name: b.name }]);
  });
});
