import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../helpers/database';

const db = await createTestDatabase();

describe('polling_job_status', () => {
  it('refuses a second running row for the same job_name', async () => {
    await db.sql`insert into polling_job_status (job_name) values ('lock-test')`;
    await expect(db.sql`insert into polling_job_status (job_name) values ('lock-test')`).rejects.toMatchObject({
      code: '23505',
      constraint_name: 'polling_job_status_one_running_idx',
    });
    await db.sql`insert into polling_job_status (job_name) values ('another-job')`;
  });

  it('allows a new running row once the previous one is terminal', async () => {
    await db.sql`insert into polling_job_status (job_name) values ('sequential')`;
    await db.sql`update polling_job_status set status = 'completed' where job_name = 'sequential'`;
    await db.sql`insert into polling_job_status (job_name) values ('sequential')`;
    const rows = await db.sql`select status from polling_job_status where job_name = 'sequential' order by started_at`;
    expect(rows.map((r) => r.status).sort()).toEqual(['completed', 'running']);
  });

  it('refuses a status outside running, completed, partial, failed', async () => {
    await expect(db.sql`insert into polling_job_status (job_name, status) values ('bad-status', 'succeeded')`).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('keeps the replaced table columns, types and defaults', async () => {
    const columns = await db.sql<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }[]>`
      select column_name, data_type, is_nullable, column_default
      from information_schema.columns where table_name = 'polling_job_status'`;
    const byName = Object.fromEntries(columns.map((c) => [c.column_name, c]));
    expect(byName.id).toMatchObject({ data_type: 'uuid', column_default: 'gen_random_uuid()' });
    expect(byName.job_name).toMatchObject({ data_type: 'text', is_nullable: 'NO' });
    expect(byName.status).toMatchObject({ data_type: 'text', is_nullable: 'NO', column_default: "'running'::text" });
    for (const name of ['total_workspaces', 'workspaces_processed', 'workspaces_skipped', 'total_accounts_synced']) {
      expect(byName[name]).toMatchObject({ data_type: 'integer', is_nullable: 'NO', column_default: '0' });
    }
    expect(byName.duration_ms.data_type).toBe('integer');
    expect(byName.warnings.data_type).toBe('ARRAY');
    for (const name of ['started_at', 'created_at', 'updated_at']) {
      expect(byName[name]).toMatchObject({ data_type: 'timestamp with time zone', is_nullable: 'NO', column_default: 'now()' });
    }
    const indexes = await db.sql`select indexdef from pg_indexes where tablename = 'polling_job_status'`;
    const defs = indexes.map((i) => i.indexdef).join('\n');
    expect(defs).toMatch(/\(job_name\)/);
    expect(defs).toMatch(/\(started_at DESC\)/);
    expect(defs).toMatch(/\(status\)/);
  });

  it('maintains updated_at by trigger', async () => {
    const [row] =
      await db.sql`insert into polling_job_status (job_name, updated_at) values ('trigger-test', now() - interval '1 day') returning id, updated_at`;
    const [after] = await db.sql`update polling_job_status set workspaces_processed = 1 where id = ${row.id} returning updated_at`;
    expect(after.updated_at.getTime()).toBeGreaterThan(row.updated_at.getTime());
  });
});

describe('polling_job_workspaces', () => {
  it('refuses to store a cursor token over 1 KiB, and a walk mode other than page or cursor', async () => {
    const [job] = await db.sql`insert into polling_job_status (job_name) values ('token-bound') returning id`;
    const [ws] =
      await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Token Bound', 'https://send.example.com', 'ref') returning id`;
    await db.sql`insert into polling_job_workspaces (job_id, workspace_id, workspace_name) values (${job.id}, ${ws.id}, 'Token Bound')`;
    await db.sql`update polling_job_workspaces set walk_mode = 'cursor', cursor_token = ${'a'.repeat(1024)} where job_id = ${job.id}`;
    await expect(
      db.sql`update polling_job_workspaces set cursor_token = ${'a'.repeat(1025)} where job_id = ${job.id}`,
    ).rejects.toMatchObject({
      code: '23514',
      constraint_name: 'polling_job_workspaces_cursor_token_length',
    });
    await expect(db.sql`update polling_job_workspaces set walk_mode = 'offset' where job_id = ${job.id}`).rejects.toMatchObject({
      code: '23514',
    });
    await expect(db.sql`update workspaces set pagination_mode = 'offset' where id = ${ws.id}`).rejects.toMatchObject({ code: '23514' });
  });
});

describe('sender_emails', () => {
  it('indexes sender_emails for the sync only: primary key, identity, live rows per workspace', async () => {
    const indexes = await db.sql<
      { indexname: string }[]
    >`select indexname from pg_indexes where tablename = 'sender_emails' order by indexname`;
    // Each index costs every upsert; 003 dropped the unused lower(email) one.
    expect(indexes.map((i) => i.indexname)).toEqual(['sender_emails_identity', 'sender_emails_live_idx', 'sender_emails_pkey']);
  });

  it('keeps one row per (workspace, EmailBison id)', async () => {
    const [ws] =
      await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Schema Co', 'http://127.0.0.1:1', 'env:X') returning id`;
    await db.sql`insert into sender_emails (workspace_id, emailbison_id, email, raw) values (${ws.id}, 1, 'a@x.io', '{}')`;
    await expect(
      db.sql`insert into sender_emails (workspace_id, emailbison_id, email, raw) values (${ws.id}, 1, 'b@x.io', '{}')`,
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('derives reply rate, bounce rate, domain and provider in the live view', async () => {
    const [ws] =
      await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('View Co', 'http://127.0.0.1:1', 'env:X') returning id`;
    await db.sql`
      insert into sender_emails (workspace_id, emailbison_id, email, emails_sent_count, unique_replied_count, bounced_count, tags, raw)
      values (${ws.id}, 7, 'Jo@Example.COM', 200, 5, 2, ${db.sql.json([{ id: 1, name: 'Google', default: false }])}, '{}')`;
    await db.sql`
      insert into sender_emails (workspace_id, emailbison_id, email, emails_sent_count, deleted_at, raw)
      values (${ws.id}, 8, 'gone@example.com', 0, now(), '{}')`;
    const rows =
      await db.sql`select emailbison_id, reply_rate, bounce_rate, domain, email_provider from live_sender_emails where workspace_id = ${ws.id}`;
    expect(rows).toEqual([{ emailbison_id: 7, reply_rate: '2.50', bounce_rate: '1.00', domain: 'example.com', email_provider: 'Google' }]);
  });
});

describe('emailbison_host_budget', () => {
  it('holds one row per host, "never paused" and "breaker closed" by default', async () => {
    await db.sql`insert into emailbison_host_budget (host, tokens) values ('schema.example.com', 1)`;
    await expect(db.sql`insert into emailbison_host_budget (host, tokens) values ('schema.example.com', 1)`).rejects.toMatchObject({
      code: '23505',
    });
    const [row] = await db.sql`
      select paused_until = '-infinity' as never_paused, breaker_open_until = '-infinity' as breaker_closed,
             consecutive_failures, pause_reason, refilled_at <= clock_timestamp() as refilled_in_the_past
      from emailbison_host_budget where host = 'schema.example.com'`;
    expect(row).toEqual({
      never_paused: true,
      breaker_closed: true,
      consecutive_failures: 0,
      pause_reason: null,
      refilled_in_the_past: true,
    });
  });

  it('refuses a blank host and a negative failure count', async () => {
    await expect(db.sql`insert into emailbison_host_budget (host, tokens) values (' ', 1)`).rejects.toMatchObject({ code: '23514' });
    await expect(
      db.sql`insert into emailbison_host_budget (host, tokens, consecutive_failures) values ('neg.example.com', 1, -1)`,
    ).rejects.toMatchObject({ code: '23514' });
  });
});
