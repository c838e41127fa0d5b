import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';

/* `sender-sync changes` as an operator runs it, on change rows made here. */
const db = await createTestDatabase();
const env = { DATABASE_URL: db.url };

beforeAll(async () => {
  const workspaces = await db.sql<{ id: number; name: string }[]>`
    insert into workspaces (name, base_url, api_key_ref) values
      ('Alpha', 'https://a.example.com', 'env:A_KEY'), ('Beta', 'https://b.example.com', 'env:B_KEY')
    returning id, name
  `;
  const id = (name: string) => workspaces.find((w) => w.name === name)!.id;
  await db.sql`
    insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, observed_at, source, job_id, delivery_key)
    values
      (${id('Alpha')}, 11, 'one@a.example.com', 'status', '"Connected"', '"Not connected"', now() - interval '2 hours', 'sync',
       '00000000-0000-4000-8000-000000000001', null),
      (${id('Alpha')}, 12, 'two@a.example.com', 'daily_limit', '30', '45', now() - interval '30 hours', 'sync',
       '00000000-0000-4000-8000-000000000001', null),
      (${id('Beta')}, 21, 'three@b.example.com', 'removed', 'false', 'true', now() - interval '10 minutes', 'webhook',
       null, ${'e'.repeat(64)})
  `;
});

describe('sender-sync changes', () => {
  it('prints the last 24 hours, newest first, as snake_case JSON on stdout', async () => {
    const result = await cli(['changes', '--json'], env);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed.since).toBe('24h');
    expect(printed.changes).toEqual([
      {
        observed_at: expect.any(String),
        workspace: 'Beta',
        emailbison_id: 21,
        email: 'three@b.example.com',
        field: 'removed',
        old_value: false,
        new_value: true,
        source: 'webhook',
        job_id: null,
      },
      expect.objectContaining({
        workspace: 'Alpha',
        emailbison_id: 11,
        field: 'status',
        old_value: 'Connected',
        new_value: 'Not connected',
      }),
    ]);
  });

  it('takes --since and --workspaces, and prints a table without --json', async () => {
    const json = JSON.parse((await cli(['changes', '--since', '2d', '--workspaces', 'Alpha', '--json'], env)).stdout);
    expect(json.changes.map((c: { emailbison_id: number }) => c.emailbison_id)).toEqual([11, 12]);
    const text = await cli(['changes', '--since', '1h'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/three@b\.example\.com\s+removed\s+false\s+true\s+webhook/);
    expect(text.stdout).toContain('1 change in the last 1h.');
  });

  it('takes --since as a time, as a digest cut short names it: what was observed after it', async () => {
    const [{ at }] = await db.sql<{ at: Date }[]>`select now() - interval '3 hours' as at`;
    const json = JSON.parse((await cli(['changes', '--since', at.toISOString(), '--json'], env)).stdout);
    expect(json.changes.map((c: { emailbison_id: number }) => c.emailbison_id)).toEqual([21, 11]);
    const text = await cli(['changes', '--since', at.toISOString()], env);
    expect(text.stdout).toContain(`2 changes since ${at.toISOString()}.`);
    expect((await cli(['changes', '--since', '2026-02-30T00:00:00Z'], env)).code).toBe(64);
  });

  it('refuses a --since it cannot read with the usage exit code', async () => {
    const result = await cli(['changes', '--since', 'yesterday'], env);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(
      '--since takes a duration such as 30m, 24h or 7d, or a time such as 2026-12-05T03:00:00Z; got "yesterday"',
    );
    expect(result.stdout).toBe('');
  });
});
