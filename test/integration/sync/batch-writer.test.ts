import { describe, expect, it } from 'vitest';
import { parseSenderEmail, type SenderEmail } from '../../../lambdas/emailbison/schema';
import { BatchWriter } from '../../../lambdas/sync/batch-writer';
import { buildWorkspaces, scenarioSpec } from '../../../sim/scenarios';
import { createTestDatabase } from '../../helpers/database';

/*
 * BatchWriter overlaps building a batch with writing the previous one. What must hold:
 * batches land in order, a failure is thrown (never an unhandled rejection) and stops
 * every later batch, and the totals add up.
 */
const db = await createTestDatabase();

function accounts(count: number): SenderEmail[] {
  const [ws] = buildWorkspaces(scenarioSpec(`grid:1:${count}`));
  return ws.accounts.map((raw, i) => {
    const parsed = parseSenderEmail(raw, i);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.item;
  });
}

async function workspace(name: string): Promise<{ workspaceId: number; jobId: string }> {
  const [ws] = await db.sql<
    { id: number }[]
  >`insert into workspaces (name, base_url, api_key_ref) values (${name}, 'http://127.0.0.1:1', 'env:X') returning id`;
  const [job] = await db.sql<
    { id: string }[]
  >`insert into polling_job_status (job_name, status) values (${name}, 'completed') returning id`;
  return { workspaceId: ws.id, jobId: job.id };
}

describe('BatchWriter', () => {
  it('writes every batch, in order: an account in two batches keeps the later copy', async () => {
    const target = await workspace('ordered');
    const all = accounts(1200);
    const moved = { ...all[0], name: 'Renamed on a later page', raw: { ...all[0].raw, name: 'Renamed on a later page' } };
    const writer = new BatchWriter(db.sql, target);
    for (let start = 0; start < all.length; start += 300) await writer.write(all.slice(start, start + 300));
    await writer.write([moved]);
    expect(await writer.drain()).toEqual({ inserted: 1200, updated: 1 });
    const [row] =
      await db.sql`select name, raw->>'name' as raw_name from sender_emails where workspace_id = ${target.workspaceId} and emailbison_id = ${moved.id}`;
    expect(row).toEqual({ name: 'Renamed on a later page', raw_name: 'Renamed on a later page' });
    expect(await writer.drain()).toEqual({ inserted: 0, updated: 0 });
  });

  it('throws a failed write at the next call and writes nothing after it', async () => {
    const target = await workspace('failing');
    const all = accounts(600);
    const writer = new BatchWriter(db.sql, { ...target, workspaceId: 2_000_000_000 }); // no such workspace: the foreign key refuses the batch
    await writer.write(all.slice(0, 200));
    // The failure settles with nobody waiting on it: it must not surface as an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(writer.write(all.slice(200, 400))).rejects.toMatchObject({ code: '23503' });
    await expect(writer.write(all.slice(400))).rejects.toMatchObject({ code: '23503' });
    await expect(writer.drain()).rejects.toMatchObject({ code: '23503' });
    expect(await db.sql`select count(*)::int as n from sender_emails where workspace_id = 2000000000`).toEqual([{ n: 0 }]);
  });

  it('records ids it did not write (unchanged accounts, invalid items) in the seen set, and only those', async () => {
    const target = await workspace('seen');
    const all = accounts(400);
    const first = new BatchWriter(db.sql, target);
    await first.write(all.slice(0, 200));
    await first.drain();
    const writer = new BatchWriter(db.sql, target);
    await writer.write(all, [987_654]);
    expect(await writer.drain()).toEqual({ inserted: 200, updated: 0 });
    const seen = await db.sql<
      { id: number }[]
    >`select emailbison_id as id from polling_job_seen_accounts where job_id = ${target.jobId} order by 1`;
    expect(seen.map((r) => r.id)).toEqual([...all.slice(0, 200).map((a) => a.id), 987_654].sort((a, b) => a - b));
  });
});
