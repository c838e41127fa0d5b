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

describe('writing a 433-account workspace (its speed is measured by `npm run bench`)', () => {
  it('inserts every account of a 433-account workspace once, then updates each of them in place', async () => {
    const accounts = tidewaterAccounts();
    expect(accounts).toHaveLength(433);
    const [ws] =
      await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Tidewater Consulting', 'http://127.0.0.1:1', 'env:X') returning id`;
    for (let run = 0; run < 3; run++) {
      const [job] = await db.sql`insert into polling_job_status (job_name, status) values (${`rewrite-${run}`}, 'completed') returning id`;
      const renamed = accounts.map((a) => ({ ...a, name: `${a.name} #${run}`, raw: { ...a.raw, name: `${a.name} #${run}` } }));
      const result = await upsertSenderEmails(db.sql, { jobId: job.id, workspaceId: ws.id }, renamed);
      expect(result).toEqual(run === 0 ? { inserted: 433, updated: 0 } : { inserted: 0, updated: 433 });
      const [stored] =
        await db.sql`select count(*)::int as n, count(*) filter (where name like ${`% #${run}`})::int as current from sender_emails where workspace_id = ${ws.id}`;
      expect(stored).toEqual({ n: 433, current: 433 });
    }
  });

  it('writes duplicates within a batch once, the last copy winning', async () => {
    const [a, b] = tidewaterAccounts();
    const [ws] =
      await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Dup Co', 'http://127.0.0.1:1', 'env:X') returning id`;
    const [job] = await db.sql`insert into polling_job_status (job_name, status) values ('dups', 'completed') returning id`;
    const changed = { ...a, name: 'Renamed', raw: { ...a.raw, name: 'Renamed' } };
    const result = await upsertSenderEmails(db.sql, { jobId: job.id, workspaceId: ws.id }, [a, b, changed]);
    expect(result).toEqual({ inserted: 2, updated: 0 });
    const rows = await db.sql`select emailbison_id, name from sender_emails where workspace_id = ${ws.id} order by emailbison_id`;
    expect(rows).toEqual([
      { emailbison_id: a.id, name: 'Renamed' },
      { emailbison_id: b.id, name: b.name },
    ]);
  });
});
