import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunDigest } from '../../../lambdas/jobs/run-changes';
import { deliveryPath } from '../../../lambdas/webhooks/token';
import { createTestDatabase } from '../../helpers/database';
import { runLocally } from '../../helpers/local-run';
import { createSettledReceiver } from '../../helpers/webhook-intake';
import { createWorld, type World } from '../../helpers/world';

/*
 * Missed events recovered (issue 24, item 3): accounts change upstream and their webhooks
 * never arrive; the next run (the real definition, through the local runner) reads the
 * simulator's event log and records each change once, source 'events', at the event's time.
 * With the webhook also delivered (the receiver and applier as deployed, fed the body the
 * simulator's webhook carries: the log item's payload), before or after the log, still once.
 */
const db = await createTestDatabase();
const NAME = 'Dunmore Legal';
const OTHERS = ['Cedar & Pine Realty', 'Fjordline Analytics'];
const SECRET = 'missed-events-master-secret';
const receive = createSettledReceiver(db.sql, { webhookSecret: SECRET });
let world: World;
let workspaceId: number;

beforeAll(async () => {
  world = await createWorld(db.sql, { only: [NAME, ...OTHERS] });
  [{ id: workspaceId }] = await db.sql<{ id: number }[]>`select id from workspaces where name = ${NAME}`;
  await run(); // the baseline: every account stored
});
afterAll(() => world.sim.close());

async function run() {
  const result = await runLocally(world.deps, {});
  expect(result.status).toBe('SUCCEEDED');
  const [job] = await db.sql<{ id: string; status: string; warnings: string[] }[]>`
    select id, status, warnings from polling_job_status order by started_at desc limit 1
  `;
  expect(job.status).toBe('completed');
  return job;
}

/** Connected accounts of the workspace that no change row mentions yet. */
async function untouchedConnected(count: number, name = NAME): Promise<number[]> {
  const touched = new Set(
    (await db.sql<{ id: string }[]>`select distinct emailbison_id::text as id from sender_email_changes`).map((row) => Number(row.id)),
  );
  return world.sim
    .truth(name)
    .filter((account) => account.status === 'Connected' && !touched.has(account.id))
    .slice(0, count)
    .map((account) => account.id);
}

async function disconnectWithoutWebhook(ids: number[]) {
  for (const id of ids) {
    const { deliveries } = await world.sim.changeAccount(id, 'disconnect', { webhooks: false });
    expect(deliveries).toEqual([]);
  }
  return world.sim.eventLog(NAME).filter((item) => ids.includes(item.payload.data.sender_email.id));
}

const changesOf = (ids: number[]) =>
  db.sql<{ emailbison_id: string; field: string; new_value: unknown; source: string; observed_at: Date; event_uuid: string | null }[]>`
    select emailbison_id, field, new_value, source, observed_at, event_uuid from sender_email_changes
    where workspace_id = ${workspaceId} and emailbison_id in ${db.sql(ids)} order by emailbison_id, id
  `;

const eventRequests = () => world.sim.requestLog().filter((request) => request.path === '/api/events');

async function deliverWebhook(payload: unknown) {
  const answer = await receive({
    method: 'POST',
    path: deliveryPath(SECRET, { workspaceId, emailbisonWorkspaceId: world.sim.workspaces().find((w) => w.name === NAME)!.id }),
    body: JSON.stringify(payload),
  });
  expect(answer.status).toBe(200);
  return answer.applied;
}

describe('missed events recovered from the event log', () => {
  it('records each disconnection with no webhook once, source events, at the event time; a second sync re-applies nothing', async () => {
    const ids = await untouchedConnected(4);
    const logged = await disconnectWithoutWebhook(ids);
    expect(logged).toHaveLength(4);
    world.sim.clearRequestLog();

    const job = await run();
    const rows = await changesOf(ids);
    expect(rows).toHaveLength(4);
    for (const item of logged) {
      const row = rows.find((r) => Number(r.emailbison_id) === item.payload.data.sender_email.id)!;
      expect(row).toMatchObject({ field: 'status', new_value: 'Not connected', source: 'events', event_uuid: item.uuid });
      expect(row.observed_at.getTime()).toBe(Date.parse(item.created_at));
    }
    // Both dates always sent, cursor mode, the window never more than 10 days.
    const requests = eventRequests();
    expect(requests.length).toBeGreaterThanOrEqual(3); // one per workspace
    for (const request of requests) {
      expect(request.query.pagination_type).toBe('cursor');
      const days = (Date.parse(request.query.end_date) - Date.parse(request.query.start_date)) / 86_400_000;
      expect(days).toBeLessThanOrEqual(10);
    }
    expect(job.warnings).toEqual([]);
    const [position] = await db.sql<{ last_event_id: string }[]>`
      select last_event_id from workspace_event_log_positions where workspace_id = ${workspaceId}
    `;
    expect(Number(position.last_event_id)).toBe(Math.max(...logged.map((item) => item.id)));

    // The position moved: the next run reads one page, applies nothing, writes no row.
    const before = (await db.sql<{ n: number }[]>`select count(*)::int as n from sender_email_changes`)[0].n;
    await run();
    expect((await db.sql<{ n: number }[]>`select count(*)::int as n from sender_email_changes`)[0].n).toBe(before);
    const [again] = await db.sql<{ last_event_id: string }[]>`
      select last_event_id from workspace_event_log_positions where workspace_id = ${workspaceId}
    `;
    expect(again.last_event_id).toBe(position.last_event_id);
  });

  it('records once when the webhook arrives before the log', async () => {
    const ids = await untouchedConnected(2);
    const logged = await disconnectWithoutWebhook(ids);
    for (const item of logged) expect(await deliverWebhook(item.payload)).toBe('applied');
    await run();
    const rows = await changesOf(ids);
    expect(rows.map((r) => [r.field, r.source])).toEqual([
      ['status', 'webhook'],
      ['status', 'webhook'],
    ]);
  });

  it('records once when the log comes before the webhook', async () => {
    const ids = await untouchedConnected(2);
    const logged = await disconnectWithoutWebhook(ids);
    await run();
    for (const item of logged) expect(await deliverWebhook(item.payload)).toBe('unchanged');
    const rows = await changesOf(ids);
    expect(rows.map((r) => [r.field, r.source])).toEqual([
      ['status', 'events'],
      ['status', 'events'],
    ]);
    for (const item of logged) {
      const row = rows.find((r) => Number(r.emailbison_id) === item.payload.data.sender_email.id)!;
      expect(row.observed_at.getTime()).toBe(Date.parse(item.created_at));
    }
  });

  it("counts a change recovered late in the digest of the run that recovered it, though its time is before the previous run's end", async () => {
    const [previous] = await db.sql<{ completed_at: Date }[]>`
      select completed_at from polling_job_status where status = 'completed' order by started_at desc limit 1
    `;
    const ids = await untouchedConnected(3);
    const logged = await disconnectWithoutWebhook(ids);
    // Upstream, the inboxes dropped a minute before the previous run ended (after its walk read them).
    const before = new Date(previous.completed_at.getTime() - 60_000).toISOString();
    for (const item of logged) world.sim.backdateEvent(item.id, before);
    const job = await run();
    const rows = await changesOf(ids);
    expect(rows.map((r) => [r.source, r.observed_at.toISOString()])).toEqual(ids.map(() => ['events', before]));
    const [counted] = await db.sql<{ accounts_disconnected: number }[]>`
      select accounts_disconnected from polling_job_workspaces where job_id = ${job.id} and workspace_id = ${workspaceId}
    `;
    expect(counted.accounts_disconnected).toBe(3);
    const digest = await readRunDigest(db.sql, job.id);
    const listed = digest.workspaces.find((w) => w.workspaceId === workspaceId)!.accounts.map((a) => a.email);
    for (const item of logged) expect(listed).toContain(item.payload.data.sender_email.email);
    // `changes --since <digest.since>` lists what the digest counts, the backdated rows too.
    expect(digest.since!.getTime()).toBeLessThan(Date.parse(before));
  });

  it('says once per run that an instance has no event log, and syncs every workspace', async () => {
    world.sim.setEventLog(false);
    try {
      const [id] = await untouchedConnected(1);
      await world.sim.changeAccount(id, 'disconnect', { webhooks: false });
      const job = await run();
      const said = job.warnings.filter((warning) => warning.includes('GET /api/events answered HTTP 404'));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(new URL(world.sim.url).host);
      const statuses = await db.sql<{ status: string }[]>`select status from polling_job_workspaces where job_id = ${job.id}`;
      expect(statuses.map((s) => s.status)).toEqual(['synced', 'synced', 'synced']);
      // Nothing lost: the walk recorded the change, at the time it saw it.
      expect((await changesOf([id])).map((r) => [r.field, r.source])).toEqual([['status', 'sync']]);
      // The next run says it again, once.
      const next = await run();
      expect(next.warnings.filter((warning) => warning.includes('GET /api/events answered HTTP 404'))).toHaveLength(1);
    } finally {
      world.sim.setEventLog(true);
    }
  });

  it('takes a malformed log page as a warning: the workspace syncs, the walk records the change, the next read adds no second row', async () => {
    const [id] = await untouchedConnected(1);
    await disconnectWithoutWebhook([id]);
    world.sim.setEventLogFaults(NAME, { malformedPages: [1] });
    try {
      const job = await run();
      expect(job.warnings.filter((warning) => warning.startsWith(`${NAME}: the event log was read only in part`))).toHaveLength(1);
      const [row] = await db.sql<{ status: string }[]>`
        select w.status from polling_job_workspaces w where w.job_id = ${job.id} and w.workspace_id = ${workspaceId}
      `;
      expect(row.status).toBe('synced');
      expect((await changesOf([id])).map((r) => [r.field, r.source])).toEqual([['status', 'sync']]);
    } finally {
      world.sim.setEventLogFaults(NAME, undefined);
    }
    const job = await run();
    expect(job.warnings).toEqual([]);
    expect((await changesOf([id])).map((r) => [r.field, r.source])).toEqual([['status', 'sync']]);
  });

  it('reads at most EMAILBISON_EVENT_LOG_MAX_PAGES pages, says so naming the workspace, and loses nothing', async () => {
    const name = OTHERS[0];
    const ids = await untouchedConnected(20, name);
    expect(ids).toHaveLength(20);
    for (const id of ids) await world.sim.changeAccount(id, 'disconnect', { webhooks: false });
    const [{ id: otherId }] = await db.sql<{ id: number }[]>`select id from workspaces where name = ${name}`;
    const position = async () =>
      (
        await db.sql<{ id: string }[]>`select last_event_id::text as id from workspace_event_log_positions where workspace_id = ${otherId}`
      )[0]?.id;
    const before = await position();
    const rows = () =>
      db.sql<{ emailbison_id: string; source: string }[]>`
        select emailbison_id, source from sender_email_changes where workspace_id = ${otherId} and emailbison_id in ${db.sql(ids)}
      `;
    world.deps.config.eventLogMaxPages = 1;
    try {
      const job = await run();
      expect(job.warnings.filter((w) => w.includes(`workspace "${name}" has more than 1 page(s)`))).toHaveLength(1);
    } finally {
      world.deps.config.eventLogMaxPages = 200;
    }
    // The newest 15 from the log, the 5 older by the walk: each account once.
    const first = await rows();
    expect(first).toHaveLength(20);
    expect(first.filter((r) => r.source === 'events')).toHaveLength(15);
    expect(first.filter((r) => r.source === 'sync')).toHaveLength(5);
    // Read newest first and cut short: the position stays, and the next read takes both pages, adding nothing.
    expect(await position()).toBe(before);
    const job = await run();
    expect(job.warnings).toEqual([]);
    expect(await rows()).toHaveLength(20);
    expect(Number(await position())).toBe(Math.max(...world.sim.eventLog(name).map((item) => item.id)));
  });

  it('takes a 422 as a warning, decided by its status', async () => {
    world.sim.setEventLogFaults(NAME, { failFromPage: { page: 1, status: 422 } });
    try {
      const job = await run();
      expect(job.warnings).toEqual([
        `${NAME}: the event log was read only in part: GET /api/events answered HTTP 422; the walk records what it missed`,
      ]);
    } finally {
      world.sim.setEventLogFaults(NAME, undefined);
    }
  });

  it('records a logged removal, then the walk links the inbox added again under a new id', async () => {
    const [id] = await untouchedConnected(1);
    const account = world.sim.truth(NAME).find((a) => a.id === id)!;
    const { deliveries } = await world.sim.changeAccount(id, 'remove', { webhooks: false });
    expect(deliveries).toEqual([]);
    const [fresh] = world.sim.addAccounts(NAME, 1);
    world.sim.patchAccount(NAME, fresh.id, { email: account.email, status: account.status });
    await run();
    const rows = await db.sql<{ emailbison_id: string; field: string; source: string }[]>`
      select emailbison_id, field, source from sender_email_changes
      where workspace_id = ${workspaceId} and emailbison_id in ${db.sql([id, fresh.id])} order by id
    `;
    expect(rows.map((r) => [Number(r.emailbison_id), r.field, r.source])).toEqual([
      [id, 'removed', 'events'],
      [fresh.id, 'readded', 'sync'],
    ]);
  });
});
