import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSenderEmail } from '../../../lambdas/emailbison/schema';
import { upsertSenderEmails } from '../../../lambdas/sync/upsert';
import { createTestDatabase } from '../../helpers/database';
import { createWorld, runJobDirectly, storedAccounts, truthAsStored, type World } from '../../helpers/world';

const db = await createTestDatabase();
let world: World;
const WS = 'Tidewater Consulting'; // 433 accounts: 29 pages of 15
const SMALL = 'Acme Outbound'; // 187 accounts

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [WS, SMALL] });
});
afterAll(() => world.sim.close());
beforeEach(() => {
  world.sim.setPagination('page');
  world.sim.setPageCap(undefined);
  world.sim.clearFaults();
});

async function workspaceRow(jobId: string, name: string) {
  const [row] = await db.sql`
    select status, accounts_written, accounts_removed, walk_mode, walk_mixed, warnings
    from polling_job_workspaces where job_id = ${jobId} and workspace_name = ${name}`;
  return row;
}
const learned = async (name: string) => (await db.sql`select pagination_mode from workspaces where name = ${name}`)[0].pagination_mode;
const idsOfTruth = () => world.sim.truth(WS).map((a) => a.id);
const live = async (name: string) => (await storedAccounts(db.sql, name)).filter((account) => !account.deleted);

describe('a cursor-only instance', () => {
  it('is synced in full, learns cursor mode, and a rerun writes 0 rows and starts in cursor mode', async () => {
    world.sim.setPagination('cursor-only');
    const first = await runJobDirectly(world.deps, [WS]);
    expect(first).toMatchObject({
      status: 'completed',
      warnings: [`${WS}: reading in cursor pagination: EmailBison answered page 1 in cursor pagination`],
    });
    expect(await live(WS)).toEqual(truthAsStored(world.sim, WS));
    expect(await workspaceRow(first.jobId, WS)).toMatchObject({
      status: 'synced',
      accounts_written: 433,
      walk_mode: 'cursor',
      walk_mixed: false,
    });
    expect(await learned(WS)).toBe('cursor');

    world.sim.clearRequestLog();
    const rerun = await runJobDirectly(world.deps, [WS]);
    expect(rerun.status).toBe('completed');
    expect(await workspaceRow(rerun.jobId, WS)).toMatchObject({ accounts_written: 0, accounts_removed: 0 });
    const lists = world.sim.requestLog().filter((entry) => entry.path === '/api/sender-emails');
    // Starts in cursor mode (no page request first), then one page=1 request for the total.
    expect(lists[0].query).toEqual({ pagination_type: 'cursor' });
    expect(lists.filter((entry) => entry.query.page !== undefined)).toHaveLength(1);
  });

  it('marks an account removed only when two complete walks in a row miss it', async () => {
    world.sim.setPagination('cursor-only');
    await runJobDirectly(world.deps, [WS]);
    const [gone] = world.sim.removeAccounts(WS, 1);

    const first = await runJobDirectly(world.deps, [WS]);
    expect(first.status).toBe('completed');
    expect((await live(WS)).map((a) => a.emailbison_id)).toContain(gone.id);
    expect(await workspaceRow(first.jobId, WS)).toMatchObject({
      accounts_removed: 0,
      warnings: [expect.stringMatching(/^1 account\(s\) not seen are not marked removed yet: .*two complete walks in a row miss it/)],
    });

    const second = await runJobDirectly(world.deps, [WS]);
    expect(await workspaceRow(second.jobId, WS)).toMatchObject({ accounts_removed: 1, warnings: [] });
    expect(await live(WS)).toEqual(truthAsStored(world.sim, WS));
  });

  it('clears the mark of a missed account when it is seen again (the upsert rewrites a marked row)', async () => {
    world.sim.setPagination('cursor-only');
    await runJobDirectly(world.deps, [WS]);
    const [hidden] = world.sim.removeAccounts(WS, 1);
    const missed = await runJobDirectly(world.deps, [WS]);
    const [marked] = await db.sql`select missed_since_job_id, deleted_at from sender_emails where emailbison_id = ${hidden.id}`;
    expect(marked).toEqual({ missed_since_job_id: missed.jobId, deleted_at: null });
    // Seen again, unchanged: the account comes back upstream in a later walk's page.
    const parsed = parseSenderEmail(hidden, 0);
    if (!parsed.ok) throw new Error(parsed.reason);
    const [ws] = await db.sql`select id from workspaces where name = ${WS}`;
    const written = await upsertSenderEmails(db.sql, { jobId: missed.jobId, workspaceId: ws.id }, [parsed.item]);
    expect(written).toEqual({ inserted: 0, updated: 1 });
    const [cleared] = await db.sql`select missed_since_job_id, first_missed_at from sender_emails where emailbison_id = ${hidden.id}`;
    expect(cleared).toEqual({ missed_since_job_id: null, first_missed_at: null });
  });
});

describe('switching modes', () => {
  it('continues in cursor mode from a new walk when the instance switches mid-walk, removes nothing, and says so', async () => {
    await runJobDirectly(world.deps, [WS]);
    await db.sql`update workspaces set pagination_mode = null`;
    const liveBefore = (await live(WS)).length;
    const removedUpstream = world.sim.removeAccounts(WS, 2);
    world.sim.setPagination('cursor-only', { afterRequests: 10 });
    const summary = await runJobDirectly(world.deps, [WS]);
    expect(summary.status).toBe('completed');
    const row = await workspaceRow(summary.jobId, WS);
    expect(row).toMatchObject({ status: 'synced', accounts_removed: 0, walk_mode: 'cursor', walk_mixed: true });
    expect(row.warnings).toEqual([
      expect.stringMatching(
        /^restarted the walk in cursor pagination after \d+ page\(s\): EmailBison answered page \d+ in cursor pagination; nothing is marked removed/,
      ),
      expect.stringMatching(/^nothing marked removed: the walk restarted in another pagination mode/),
    ]);
    // Every account upstream is stored and live; the two removed upstream are still live (nothing removed).
    const stored = await live(WS);
    expect(stored.length).toBe(liveBefore);
    expect(stored.map((a) => a.emailbison_id)).toEqual(expect.arrayContaining([...idsOfTruth(), ...removedUpstream.map((a) => a.id)]));
    expect(await learned(WS)).toBe('cursor');
  });

  it('reads a workspace past the page cap in cursor mode in the same invocation, and starts there next time', async () => {
    await db.sql`update workspaces set pagination_mode = null`;
    await runJobDirectly(world.deps, [WS, SMALL]); // settles what earlier tests left (a clean page-mode walk)
    world.sim.setPageCap(3);
    const summary = await runJobDirectly(world.deps, [WS, SMALL]);
    expect(summary.status).toBe('completed');
    expect(await live(WS)).toEqual(truthAsStored(world.sim, WS));
    expect(await live(SMALL)).toEqual(truthAsStored(world.sim, SMALL));
    expect(await learned(WS)).toBe('cursor');
    expect(await learned(SMALL)).toBe('cursor');
    expect(summary.invocations).toBe(2);

    world.sim.clearRequestLog();
    const next = await runJobDirectly(world.deps, [WS]);
    const lists = world.sim.requestLog().filter((entry) => entry.path === '/api/sender-emails');
    expect(lists.filter((entry) => entry.status === 422)).toEqual([]);
    // Cursor mode on a page-capable instance: page=1 gives the total, so removal works in one walk.
    expect(await workspaceRow(next.jobId, WS)).toMatchObject({ walk_mode: 'cursor', walk_mixed: false, accounts_written: 0, warnings: [] });
  });

  it('with a learned cursor mode on a cursor-default instance, uses page=1 for the total and removes in one walk', async () => {
    await db.sql`update workspaces set pagination_mode = 'cursor' where name = ${WS}`;
    world.sim.setPagination('cursor-default');
    await runJobDirectly(world.deps, [WS]);
    world.sim.removeAccounts(WS, 2);
    const summary = await runJobDirectly(world.deps, [WS]);
    expect(await workspaceRow(summary.jobId, WS)).toMatchObject({ walk_mode: 'cursor', accounts_removed: 2, warnings: [] });
    expect(await live(WS)).toEqual(truthAsStored(world.sim, WS));
  });

  it('in page mode learns page on an instance that serves pages', async () => {
    await db.sql`update workspaces set pagination_mode = null`;
    await runJobDirectly(world.deps, [SMALL]);
    expect(await learned(SMALL)).toBe('page');
  });
});
