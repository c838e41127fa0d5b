import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryPath } from '../../../lambdas/webhooks/token';
import { createSettledReceiver } from '../../helpers/webhook-intake';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { createWorld, runJobDirectly, type World } from '../../helpers/world';

/*
 * Issue 22 item 5: EmailBison gives an inbox a new id when it is removed and added again
 * (same email, same workspace). The real sync against the simulator, and the real webhook
 * receiver, link the two ids: one 'readded' change row (old id -> new id), no removal and
 * unrelated addition, and `sender-sync changes` shows one account.
 */
const db = await createTestDatabase();
const NAME = 'Kestrel Ventures';
const SECRET = 'churn-test-master-secret';
let world: World;
let workspaceId: number;
let emailbisonWorkspaceId: number;
// The receiver and the applier as deployed, what the receiver accepted applied before the test looks.
const receive = createSettledReceiver(db.sql, { webhookSecret: SECRET });

beforeAll(async () => {
  // The event log off: these cases are the walk's and the webhook's own linking of a removal
  // nobody was told of. With the log, EmailBison's logged removal is recovered as a delivered
  // one would be (a 'removed' row, then 'readded': test/integration/history/missed-events.test.ts).
  world = await createWorld(db.sql, { only: [NAME], config: { EMAILBISON_EVENT_LOG: 'false' } });
  [{ id: workspaceId, emailbison_workspace_id: emailbisonWorkspaceId }] = await db.sql<
    { id: number; emailbison_workspace_id: number }[]
  >`select id, emailbison_workspace_id::int from workspaces where name = ${NAME}`;
  // The baseline: a workspace's first sync records no change.
  expect((await runJobDirectly(world.deps)).status).toBe('completed');
});
afterAll(() => world.sim.close());

interface Change {
  emailbison_id: number;
  email: string;
  field: string;
  old_value: unknown;
  new_value: unknown;
  source: string;
}

const changesOf = (email: string) =>
  db.sql<Change[]>`
    select emailbison_id::int, email, field, old_value, new_value, source from sender_email_changes
    where workspace_id = ${workspaceId} and lower(email) = lower(${email}) order by id
  `;
const isRemoved = async (id: number) =>
  (await db.sql<{ removed: boolean }[]>`select deleted_at is not null as removed from sender_emails where emailbison_id = ${id}`)[0]
    .removed;
const lastJob = async () =>
  (
    await db.sql<{ status: string; accounts_added: number; accounts_removed: number }[]>`
      select status, accounts_added, accounts_removed from polling_job_status order by started_at desc limit 1
    `
  )[0];

describe('an account removed and added again under a new id', () => {
  it('is linked by the sync: one readded row (old id -> new id), no removal, no addition, one account in `changes`', async () => {
    const account = world.sim.truth(NAME)[0];
    const [fresh] = world.sim.addAccounts(NAME, 1);
    // Upstream the old id is gone and the same inbox (its email in another case) is back under a new id.
    world.sim.patchAccount(NAME, fresh.id, { email: account.email.toUpperCase(), status: account.status });
    await removeById(account.id);

    expect((await runJobDirectly(world.deps)).status).toBe('completed');
    expect(await changesOf(account.email)).toEqual([
      {
        emailbison_id: fresh.id,
        email: account.email.toUpperCase(),
        field: 'readded',
        old_value: account.id,
        new_value: fresh.id,
        source: 'sync',
      },
    ]);
    expect(await isRemoved(account.id)).toBe(true);
    expect(await isRemoved(fresh.id)).toBe(false);
    // The digest counts it as neither added nor removed.
    expect(await lastJob()).toMatchObject({ accounts_added: 0, accounts_removed: 0 });

    const json = JSON.parse((await cli(['changes', '--json'], { DATABASE_URL: db.url })).stdout);
    const rows = json.changes.filter((c: Change) => c.email.toLowerCase() === account.email.toLowerCase());
    expect(rows).toEqual([
      expect.objectContaining({ field: 'readded', emailbison_id: fresh.id, old_value: account.id, new_value: fresh.id }),
    ]);
    const text = await cli(['changes'], { DATABASE_URL: db.url });
    const lines = text.stdout.split('\n').filter((line) => line.toLowerCase().includes(account.email.toLowerCase()));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`re-added\\s+id ${account.id}\\s+id ${fresh.id}\\s+sync`));
  });

  it('links a new id to an account removed by an earlier run', async () => {
    const account = world.sim.truth(NAME)[1];
    await removeById(account.id);
    await runJobDirectly(world.deps);
    expect((await changesOf(account.email)).map((c) => c.field)).toEqual(['removed']);

    const [fresh] = world.sim.addAccounts(NAME, 1);
    world.sim.patchAccount(NAME, fresh.id, { email: account.email });
    await runJobDirectly(world.deps);
    expect((await changesOf(account.email)).map((c) => [c.field, c.emailbison_id, c.old_value, c.new_value])).toEqual([
      ['removed', account.id, false, true],
      ['readded', fresh.id, account.id, fresh.id],
    ]);
    expect(await lastJob()).toMatchObject({ accounts_added: 0 });
  });

  it('records a genuinely new account as added, not re-added', async () => {
    const [fresh] = world.sim.addAccounts(NAME, 1);
    await runJobDirectly(world.deps);
    expect((await changesOf(fresh.email)).map((c) => c.field)).toEqual(['added']);
    expect(await lastJob()).toMatchObject({ accounts_added: 1, accounts_removed: 0 });
  });

  it('is linked by the webhook email_account_added, and the next sync removes the old id without a removal row of its own', async () => {
    const account = world.sim.truth(NAME)[2];
    const [fresh] = world.sim.addAccounts(NAME, 1);
    world.sim.patchAccount(NAME, fresh.id, { email: account.email });
    await removeById(account.id);
    // The removal's delivery was lost; the addition's arrives.
    const answer = await receive({
      method: 'POST',
      path: deliveryPath(SECRET, { workspaceId, emailbisonWorkspaceId }),
      body: JSON.stringify({
        event: { type: 'EMAIL_ACCOUNT_ADDED', workspace_id: emailbisonWorkspaceId },
        data: {
          sender_email: { id: fresh.id, email: account.email, name: fresh.name, status: 'Connected', updated_at: new Date().toISOString() },
        },
      }),
    });
    expect(answer.status).toBe(200);
    expect(answer.applied).toBe('applied');
    expect(await changesOf(account.email)).toEqual([
      { emailbison_id: fresh.id, email: account.email, field: 'readded', old_value: account.id, new_value: fresh.id, source: 'webhook' },
    ]);

    await runJobDirectly(world.deps);
    expect(await isRemoved(account.id)).toBe(true);
    // No removal and no addition: the webhook's link stands. (The sync fills in what the delivery
    // did not carry, such as tags, as it does for any account a webhook added.)
    const after = await changesOf(account.email);
    expect(after.filter((c) => ['readded', 'added', 'removed'].includes(c.field)).map((c) => [c.field, c.source])).toEqual([
      ['readded', 'webhook'],
    ]);
    expect(await lastJob()).toMatchObject({ status: 'completed', accounts_added: 0, accounts_removed: 0 });
  });
});

/** Removes one account upstream by id, through the simulator's operator route. */
async function removeById(id: number): Promise<void> {
  const response = await fetch(`${world.sim.url}/_sim/accounts/${id}/remove`, { method: 'POST' });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
}
