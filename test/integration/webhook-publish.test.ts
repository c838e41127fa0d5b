import { describe, expect, it } from 'vitest';
import { markWebhookChangesDigested, webhookChangesHighWater, type ChangesMessage } from '../../lambdas/webhooks/publish';
import { deliveryPath } from '../../lambdas/webhooks/token';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { createTestDatabase } from '../helpers/database';
import { createSettledReceiver } from '../helpers/webhook-intake';

/*
 * Webhook disconnections and removals reach the ChangesTopic batched by the applier: at most
 * one message per workspace per window (3 s here, 5 minutes deployed; no gather here, 10 s
 * deployed), the rest sent by the first batch after the window (or its tick), or absorbed by
 * Finalize job's digest.
 */
const db = await createTestDatabase();
const SECRET = 'publish-test-master-secret';
const WINDOW_SECONDS = 3;

async function setup(name: string, emailbisonWorkspaceId: number, publish: (m: ChangesMessage) => Promise<void>) {
  const workspace = await upsertWorkspace(db.sql, { name, baseUrl: 'http://sim.invalid', apiKeyRef: 'env:UNUSED', emailbisonWorkspaceId });
  const receive = createSettledReceiver(db.sql, {
    webhookSecret: SECRET,
    publisher: { publish },
    timing: { windowSeconds: WINDOW_SECONDS, gatherSeconds: 0, retrySeconds: 0 },
  });
  let clock = Date.now() - 3_600_000;
  const send = async (type: string, id: number, status?: string) => {
    clock += 1000;
    const answer = await receive({
      method: 'POST',
      path: deliveryPath(SECRET, { workspaceId: workspace.id, emailbisonWorkspaceId }),
      body: JSON.stringify({
        event: { type, workspace_id: emailbisonWorkspaceId },
        data: {
          sender_email: { id, email: `inbox${id}@${name.toLowerCase()}.example`, status, updated_at: new Date(clock).toISOString() },
        },
      }),
    });
    expect(answer.status, answer.body).toBe(200);
    return answer.applied;
  };
  for (let id = 1; id <= 60; id++) await send('EMAIL_ACCOUNT_ADDED', id, 'Connected');
  return { send, workspace };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('publishing webhook disconnections', () => {
  it('sends the first at once, holds a burst to one message per window, and sends the rest with the first delivery after it', async () => {
    const messages: ChangesMessage[] = [];
    const a = await setup('Alpha', 8001, async (m) => void messages.push(m));
    const b = await setup('Beta', 8002, async (m) => void messages.push(m));
    expect(messages).toEqual([]);
    await a.send('EMAIL_ACCOUNT_DISCONNECTED', 1, 'Not connected');
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toContain('inbox1@alpha.example: Connected -> Not connected');
    for (let id = 2; id <= 55; id++) await a.send('EMAIL_ACCOUNT_DISCONNECTED', id, 'Not connected');
    await a.send('EMAIL_ACCOUNT_REMOVED', 56);
    expect(messages).toHaveLength(1);
    // Another workspace has its own window.
    await b.send('EMAIL_ACCOUNT_DISCONNECTED', 1, 'Not connected');
    expect(messages).toHaveLength(2);
    expect(messages[1].subject).toBe('sender-sync: 1 disconnected in Beta');
    await wait(WINDOW_SECONDS * 1000 + 200);
    // A reconnect is not published, but its delivery flushes what waited.
    await a.send('EMAIL_ACCOUNT_RECONNECTED', 57, 'Connected');
    expect(messages).toHaveLength(3);
    expect(messages[2].subject).toBe('sender-sync: 54 disconnected, 1 removed in Alpha');
    expect(messages[2].text.split('\n')).toHaveLength(1 + 50 + 1);
    expect(messages[2].text).toContain('  … and 5 more');
    expect(messages[2].text).not.toContain('inbox1@');
    await wait(WINDOW_SECONDS * 1000 + 200);
    await a.send('EMAIL_ACCOUNT_RECONNECTED', 58, 'Connected');
    expect(messages).toHaveLength(3);
  });

  it('keeps items pending when the publish fails, and sends them on the next due delivery', async () => {
    const messages: ChangesMessage[] = [];
    let failing = true;
    const g = await setup('Gamma', 8003, async (m) => {
      if (failing) throw new Error('SNS is down');
      messages.push(m);
    });
    await g.send('EMAIL_ACCOUNT_DISCONNECTED', 1, 'Not connected');
    failing = false;
    await g.send('EMAIL_ACCOUNT_DISCONNECTED', 2, 'Not connected');
    expect(messages.map((m) => m.subject)).toEqual(['sender-sync: 2 disconnected in Gamma']);
  });

  it("counts what waited as told once Finalize job's digest named it", async () => {
    const messages: ChangesMessage[] = [];
    const d = await setup('Delta', 8004, async (m) => void messages.push(m));
    await d.send('EMAIL_ACCOUNT_DISCONNECTED', 1, 'Not connected');
    await d.send('EMAIL_ACCOUNT_DISCONNECTED', 2, 'Not connected');
    expect(messages).toHaveLength(1);
    await markWebhookChangesDigested(db.sql, await webhookChangesHighWater(db.sql));
    await wait(WINDOW_SECONDS * 1000 + 200);
    await d.send('EMAIL_ACCOUNT_RECONNECTED', 3, 'Connected');
    expect(messages).toHaveLength(1);
  });

  it('publishes holding no transaction and no lock: the digest row is free and no session is idle in a transaction', async () => {
    const seen: { idleInTransaction: number; lockable: boolean }[] = [];
    const e = await setup('Epsilon', 8005, async () => {
      const [{ idle }] = await db.sql<{ idle: number }[]>`
        select count(*)::int as idle from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'
      `;
      const lockable = await db.sql
        .begin(async (tx) => tx`select 1 from webhook_publish_state for update nowait`)
        .then(
          () => true,
          () => false,
        );
      seen.push({ idleInTransaction: idle, lockable });
    });
    await e.send('EMAIL_ACCOUNT_DISCONNECTED', 1, 'Not connected');
    expect(seen).toEqual([{ idleInTransaction: 0, lockable: true }]);
  });
});
