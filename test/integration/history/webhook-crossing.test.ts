import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../helpers/database';
import { createWorld, runJobDirectly, type World } from '../../helpers/world';

/*
 * A sync and a webhook can cross (issue 15): a page whose request went out before the
 * webhook receiver changed a row, and whose answer is written after, must not undo that
 * change nor record change rows for it. The receiver is played here by the statement it
 * runs (status, webhook_changed_at, a webhook change row); the sync is the real one,
 * against the simulator, with page 1 held while the "webhook" lands.
 */
const db = await createTestDatabase();
const NAME = 'Kestrel Ventures';
let world: World;

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [NAME] });
});
afterAll(() => world.sim.close());

async function applyWebhookDisconnect(emailbisonId: number): Promise<void> {
  await db.sql.begin(async (tx) => {
    const [row] = await tx<{ workspace_id: number; email: string }[]>`
      update sender_emails set status = 'Not connected', webhook_changed_at = now()
      where emailbison_id = ${emailbisonId}
      returning workspace_id, email
    `;
    await tx`
      insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, source, delivery_key)
      values (${row.workspace_id}, ${emailbisonId}, ${row.email}, 'status', '"Connected"', '"Not connected"', 'webhook', ${'a'.repeat(64)})
    `;
  });
}

const stored = async (id: number) =>
  (
    await db.sql<{ status: string; daily_limit: number; deleted: boolean }[]>`
    select status, daily_limit, deleted_at is not null as deleted from sender_emails where emailbison_id = ${id}
  `
  )[0];
const changesOf = (id: number) =>
  db.sql<{ field: string; source: string; new_value: unknown }[]>`
    select field, source, new_value from sender_email_changes where emailbison_id = ${id} order by id
  `;

describe('a sync page fetched before a webhook change', () => {
  it('leaves the change in place and records nothing for it; the other fields still update; a later page applies', async () => {
    await runJobDirectly(world.deps);
    const account = world.sim.truth(NAME).find((a) => a.status === 'Connected')!;
    // On page 1, which the simulator now holds for a second after the request arrives.
    expect(
      world.sim
        .truth(NAME)
        .slice(0, 15)
        .map((a) => a.id),
    ).toContain(account.id);
    world.sim.patchAccount(NAME, account.id, { daily_limit: (account.daily_limit ?? 0) + 5 });
    world.sim.setFaults(NAME, { hangPages: [1], hangTimes: 1, hangMs: 1_000 });

    const syncing = runJobDirectly(world.deps);
    await new Promise((resolve) => setTimeout(resolve, 300)); // page 1's request has gone out and is held
    await applyWebhookDisconnect(account.id);
    await syncing;
    world.sim.clearFaults();

    // The page (still "Connected") was written after the webhook: status stays, daily_limit moves.
    expect(await stored(account.id)).toMatchObject({
      status: 'Not connected',
      daily_limit: (account.daily_limit ?? 0) + 5,
      deleted: false,
    });
    expect(await changesOf(account.id)).toEqual([
      { field: 'status', source: 'webhook', new_value: 'Not connected' },
      { field: 'daily_limit', source: 'sync', new_value: (account.daily_limit ?? 0) + 5 },
    ]);

    // EmailBison catches up (the account is disconnected there too): the next sync writes no second status row.
    world.sim.patchAccount(NAME, account.id, { status: 'Not connected' });
    await runJobDirectly(world.deps);
    expect(await stored(account.id)).toMatchObject({ status: 'Not connected' });
    expect(await changesOf(account.id)).toHaveLength(2);

    // A page fetched after the webhook change is EmailBison's newer word: it applies, with its change row.
    world.sim.patchAccount(NAME, account.id, { status: 'Connected' });
    await runJobDirectly(world.deps);
    expect(await stored(account.id)).toMatchObject({ status: 'Connected' });
    expect((await changesOf(account.id)).at(-1)).toEqual({ field: 'status', source: 'sync', new_value: 'Connected' });
  });
});
