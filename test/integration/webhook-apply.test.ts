import { beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../lambdas/runtime/deps';
import { applyBatch } from '../../lambdas/webhook-applier/apply-batch';
import { encodeIntakeMessage } from '../../lambdas/webhooks/intake';
import { deliveryPath } from '../../lambdas/webhooks/token';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { createTestDatabase } from '../helpers/database';
import { createSettledReceiver } from '../helpers/webhook-intake';

/* Each kind of event applied (receiver, then applier) to the row it concerns, and the deliveries that cannot be routed. */
const db = await createTestDatabase();
const SECRET = 'apply-test-master-secret';
const receive = createSettledReceiver(db.sql, { webhookSecret: SECRET });
let workspaceId: number;
const pathOf = (id: number, emailbisonWorkspaceId = 31) => deliveryPath(SECRET, { workspaceId: id, emailbisonWorkspaceId });

async function deliver(data: unknown, type: string, path = pathOf(workspaceId), emailbisonWorkspaceId = 31) {
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
  db.sql<{ field: string; old_value: unknown; new_value: unknown; reason?: string }[]>`
    select field, old_value, new_value, reason from sender_email_changes where workspace_id = ${workspaceId} and emailbison_id = 900 order by id
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
      { field: 'tags', old_value: ['Zeta'], new_value: ['Alpha', 'Zeta'], reason: null },
      { field: 'tags', old_value: ['Alpha', 'Zeta'], new_value: ['Alpha'], reason: null },
      { field: 'warmup_enabled', old_value: true, new_value: false, reason: 'warmup_disabled_causing_bounces' },
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
      { field: 'removed', old_value: false, new_value: true, reason: null },
      { field: 'removed', old_value: true, new_value: false, reason: null },
    ]);
  });

  it("refuses another EmailBison workspace's event on this workspace's path (409) before queuing it, and the bare path of before (404)", async () => {
    const other = await deliver({ sender_email: { id: 900, status: 'Not connected' } }, 'EMAIL_ACCOUNT_DISCONNECTED', undefined, 32);
    expect(other).toMatchObject({ status: 409, body: { outcome: undefined } });
    const bare = await receive({
      method: 'POST',
      path: `/emailbison/${SECRET}`,
      body: JSON.stringify({ event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_id: 31 }, data: { sender_email: { id: 900 } } }),
    });
    expect([bare.status, bare.applied]).toEqual([404, undefined]);
    expect((await changes()).filter((c) => c.field === 'status')).toEqual([]);
  });

  it('accepts, then the applier refuses (routeDelivery), a URL made for the EmailBison workspace the row no longer records', async () => {
    const { id: moved } = await upsertWorkspace(db.sql, {
      name: 'Apply Moved',
      baseUrl: 'https://two.example',
      apiKeyRef: 'env:X',
      emailbisonWorkspaceId: 41,
    });
    await db.sql`insert into sender_emails (workspace_id, emailbison_id, email, status, raw) values (${moved}, 900, 'moved@two.example', 'Connected', '{}')`;
    const stalePath = pathOf(moved, 40);
    const answer = await deliver({ sender_email: { id: 900, status: 'Not connected' } }, 'EMAIL_ACCOUNT_DISCONNECTED', stalePath, 40);
    // Its key was replaced: only Postgres knows, so the receiver (no database) accepts and the applier drops it.
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'refused' } });
    const [row] = await db.sql<
      { status: string }[]
    >`select status from sender_emails where workspace_id = ${moved} and emailbison_id = 900`;
    expect(row.status).toBe('Connected');
    const current = await deliver(
      { sender_email: { id: 900, status: 'Not connected' } },
      'EMAIL_ACCOUNT_DISCONNECTED',
      pathOf(moved, 41),
      41,
    );
    expect(current.body).toMatchObject({ outcome: 'applied' });
  });

  it('orders an event without updated_at by its arrival: applied after a newer one, it changes nothing', async () => {
    const { id: ordered } = await upsertWorkspace(db.sql, {
      name: 'Apply Ordered',
      baseUrl: 'https://three.example',
      apiKeyRef: 'env:X',
      emailbisonWorkspaceId: 51,
    });
    await db.sql`insert into sender_emails (workspace_id, emailbison_id, email, status, raw) values (${ordered}, 900, 'o@three.example', 'Connected', '{}')`;
    const path = pathOf(ordered, 51);
    // Taken at t0 (no updated_at) and queued with that arrival time, held (a queue, a slow applier) while a reconnect of t0 + 1 s is applied.
    const disconnectTakenAt = new Date(Date.now() - 60_000);
    const late = encodeIntakeMessage({
      kind: 'delivery',
      target: { workspaceId: ordered, emailbisonWorkspaceId: 51 },
      body: JSON.stringify({
        event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_id: 51 },
        data: { sender_email: { id: 900, status: 'Not connected' } },
      }),
      receivedAt: disconnectTakenAt.toISOString(),
    });
    const newer = await deliver(
      { sender_email: { id: 900, status: 'Connected', updated_at: new Date(disconnectTakenAt.getTime() + 1000).toISOString() } },
      'EMAIL_ACCOUNT_RECONNECTED',
      path,
      51,
    );
    // Already Connected: nothing to change, but the row now records the reconnect's time.
    expect(newer).toMatchObject({ status: 200, body: { outcome: 'unchanged' } });
    expect((await applyBatch(db.sql, [{ id: 'late', body: late }], { log: silentLog })).tally).toEqual({ stale: 1 });
    const [row] = await db.sql<
      { status: string }[]
    >`select status from sender_emails where workspace_id = ${ordered} and emailbison_id = 900`;
    expect(row.status).toBe('Connected');
  });
});
