import { beforeAll, describe, expect, it } from 'vitest';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { createTestDatabase } from '../helpers/database';
import { createSettledReceiver } from '../helpers/webhook-intake';

/* Each kind of event applied (receiver, then applier) to the row it concerns, and the deliveries that cannot be routed. */
const db = await createTestDatabase();
const TOKEN = 'apply-test-token';
const receive = createSettledReceiver(db.sql, { token: TOKEN });
let workspaceId: number;

async function deliver(data: unknown, type: string, path = `/emailbison/${TOKEN}/${workspaceId}`, emailbisonWorkspaceId = 31) {
  const answer = await receive({
    method: 'POST',
    path,
    body: JSON.stringify({ event: { type, workspace_id: emailbisonWorkspaceId }, data }),
  });
  return { status: answer.status, body: { ...JSON.parse(answer.body), outcome: answer.applied } };
}

async function row() {
  const [found] = await db.sql<
    { tags: { id: number; name: string }[]; raw: { tags: unknown; warmup_enabled: unknown }; warmup_enabled: boolean; deleted: boolean }[]
  >`
    select tags, raw, warmup_enabled, deleted_at is not null as deleted from sender_emails where workspace_id = ${workspaceId} and emailbison_id = 900
  `;
  return found;
}

const changes = () =>
  db.sql<{ field: string; old_value: unknown; new_value: unknown }[]>`
    select field, old_value, new_value from sender_email_changes where workspace_id = ${workspaceId} and emailbison_id = 900 order by id
  `;

beforeAll(async () => {
  ({ id: workspaceId } = await upsertWorkspace(db.sql, {
    name: 'Apply Co',
    baseUrl: 'https://one.example',
    apiKeyRef: 'env:X',
    emailbisonWorkspaceId: 31,
  }));
  await db.sql`
    insert into sender_emails (workspace_id, emailbison_id, email, status, tags, warmup_enabled, raw)
    values (${workspaceId}, 900, 'tagged@apply.example', 'Connected', '[{"id": 1, "name": "Zeta", "default": false}]', true,
            '{"tags": [{"id": 1, "name": "Zeta", "default": false}], "warmup_enabled": true}')
  `;
});

describe('applying account events', () => {
  it('attaches and removes tags on sender emails only, and disables warmup', async () => {
    const tag = { id: 2, name: 'Alpha' };
    expect((await deliver({ tag, taggable_type: 'App\\Models\\SenderEmail', taggable_id: 900 }, 'TAG_ATTACHED')).body.outcome).toBe(
      'applied',
    );
    expect((await row()).tags.map((t) => t.name)).toEqual(['Zeta', 'Alpha']);
    expect((await row()).raw.tags).toEqual((await row()).tags);
    // Not the same body (that would be a replay): the same tag, already there.
    expect((await deliver({ tag, taggableType: 'SenderEmail', taggableId: 900 }, 'TAG_ATTACHED')).body.outcome).toBe('unchanged');
    expect((await deliver({ tag: { id: 1, name: 'Zeta' }, taggableType: 'Lead', taggableId: 900 }, 'TAG_REMOVED')).body).toMatchObject({
      outcome: 'ignored',
    });
    expect(
      (await deliver({ tag: { id: 1, name: 'Zeta' }, taggable_type: 'sender_email', taggable_id: 900 }, 'tag_removed')).body.outcome,
    ).toBe('applied');
    expect((await row()).tags.map((t) => t.name)).toEqual(['Alpha']);
    expect((await deliver({ sender_email: { id: 900, status: 'Connected' } }, 'WARMUP_DISABLED_CAUSING_BOUNCES')).body.outcome).toBe(
      'applied',
    );
    expect(await row()).toMatchObject({ warmup_enabled: false, raw: { warmup_enabled: false } });
    expect((await deliver({ sender_email: { id: 900 } }, 'warmup_disabled_receiving_bounces')).body.outcome).toBe('unchanged');
    expect(await changes()).toEqual([
      { field: 'tags', old_value: ['Zeta'], new_value: ['Alpha', 'Zeta'] },
      { field: 'tags', old_value: ['Alpha', 'Zeta'], new_value: ['Alpha'] },
      { field: 'warmup_enabled', old_value: true, new_value: false },
    ]);
  });

  it('marks a removed account removed, and brings it back when EmailBison says it was added again', async () => {
    expect((await deliver({ sender_email: { id: 900 } }, 'EMAIL_ACCOUNT_REMOVED')).body.outcome).toBe('applied');
    expect((await row()).deleted).toBe(true);
    expect(
      (await deliver({ sender_email: { id: 900, email: 'tagged@apply.example', status: 'Connected' } }, 'EMAIL_ACCOUNT_ADDED')).body
        .outcome,
    ).toBe('applied');
    expect((await row()).deleted).toBe(false);
    expect((await changes()).slice(-2)).toEqual([
      { field: 'removed', old_value: false, new_value: true },
      { field: 'removed', old_value: true, new_value: false },
    ]);
  });

  it("accepts, then refuses to apply, another EmailBison workspace's event on this workspace's path, and a bare-path event nobody records", async () => {
    // The receiver opens no database: it accepts (200), and the applier refuses what no workspace takes.
    const other = await deliver({ sender_email: { id: 900, status: 'Not connected' } }, 'EMAIL_ACCOUNT_DISCONNECTED', undefined, 32);
    expect(other).toMatchObject({ status: 200, body: { outcome: 'refused' } });
    const bare = await deliver(
      { sender_email: { id: 900, status: 'Not connected' } },
      'EMAIL_ACCOUNT_DISCONNECTED',
      `/emailbison/${TOKEN}`,
      77,
    );
    expect(bare).toMatchObject({ status: 200, body: { outcome: 'refused' } });
    const noWorkspace = await receive({
      method: 'POST',
      path: `/emailbison/${TOKEN}`,
      body: JSON.stringify({ event: { type: 'EMAIL_ACCOUNT_DISCONNECTED' }, data: { sender_email: { id: 900 } } }),
    });
    expect([noWorkspace.status, noWorkspace.applied]).toEqual([200, 'refused']);
    expect((await changes()).filter((c) => c.field === 'status')).toEqual([]);
  });

  it('tells two instances apart by instance_url when both have an EmailBison workspace of that id', async () => {
    const { id: twin } = await upsertWorkspace(db.sql, {
      name: 'Apply Twin',
      baseUrl: 'https://two.example',
      apiKeyRef: 'env:X',
      emailbisonWorkspaceId: 31,
    });
    await db.sql`insert into sender_emails (workspace_id, emailbison_id, email, status, raw) values (${twin}, 900, 'twin@two.example', 'Connected', '{}')`;
    const answer = await receive({
      method: 'POST',
      path: `/emailbison/${TOKEN}`,
      body: JSON.stringify({
        event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_id: 31, instance_url: 'https://two.example/' },
        data: { sender_email: { id: 900, status: 'Not connected' } },
      }),
    });
    expect(answer.applied).toBe('applied');
    const statuses = await db.sql<
      { workspace_id: number; status: string }[]
    >`select workspace_id, status from sender_emails where emailbison_id = 900 order by workspace_id`;
    expect(statuses).toEqual([
      { workspace_id: workspaceId, status: 'Connected' },
      { workspace_id: twin, status: 'Not connected' },
    ]);
  });
});
