import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startJob } from '../../../lambdas/jobs/start-job';
import { createSyncWorkspaceTask, type SyncWorkspaceEvent } from '../../../lambdas/sync-workspace/task';
import { createTestDatabase } from '../../helpers/database';
import { runLocally } from '../../helpers/local-run';
import { createWorld, liveAccounts, type World } from '../../helpers/world';

/*
 * Issue 24 item 1: the daily warmup pass, the same state machine in warmup mode ({"mode":
 * "warmup"}), executed locally through the real definition with the real handlers, a real
 * Postgres and the simulated EmailBison's warmup routes.
 */
const db = await createTestDatabase();
let world: World;
const DAY = '2026-12-04';
const WARMUP = { mode: 'warmup', day: DAY };

beforeAll(async () => {
  world = await createWorld(db.sql, { scenario: 'seed-2025' });
  const sync = await runLocally(world.deps, {});
  expect(sync.output).toMatchObject({ status: 'completed' });
});
afterAll(() => world.sim.close());
afterEach(() => {
  world.sim.clearFaults();
  world.sim.setWarmupRoute(true);
});

interface StoredWarmup {
  emailbison_id: number;
  warmup_score: number | null;
  job_id: string;
  [figure: string]: unknown;
}

async function storedWarmup(workspace: string, day = DAY): Promise<StoredWarmup[]> {
  const rows = await db.sql<StoredWarmup[]>`
    select d.emailbison_id::int as emailbison_id, d.warmup_score::float8 as warmup_score, d.warmup_emails_sent,
      d.warmup_replies_received, d.warmup_emails_saved_from_spam, d.warmup_bounces_received_count,
      d.warmup_bounces_caused_count, d.warmup_disabled_for_bouncing_count, d.job_id::text as job_id
    from sender_email_warmup_daily d join workspaces w on w.id = d.workspace_id
    where w.name = ${workspace} and d.day = ${day}::date
    order by d.emailbison_id
  `;
  return rows;
}

/** The simulator's figures for the day as the rows should hold them. */
function truthAsStored(workspace: string, day = DAY) {
  return world.sim.warmupTruth(workspace, day).map((item) => ({
    emailbison_id: item.id,
    warmup_score: item.warmup_score,
    warmup_emails_sent: item.warmup_emails_sent,
    warmup_replies_received: item.warmup_replies_received,
    warmup_emails_saved_from_spam: item.warmup_emails_saved_from_spam,
    warmup_bounces_received_count: item.warmup_bounces_received_count,
    warmup_bounces_caused_count: item.warmup_bounces_caused_count,
    warmup_disabled_for_bouncing_count: item.warmup_disabled_for_bouncing_count,
  }));
}

const withoutJob = (rows: StoredWarmup[]) => rows.map(({ job_id: _job, ...figures }) => figures);

async function jobOf(executionArn: string) {
  const [job] = await db.sql`
    select id::text, job_name, run_mode, to_char(warmup_day, 'YYYY-MM-DD') as warmup_day, status, warnings, total_accounts_synced,
      accounts_disconnected
    from polling_job_status where execution_arn = ${executionArn}
  `;
  return job;
}

async function rowsWritten(jobId: string): Promise<number> {
  const [{ n }] = await db.sql<{ n: number }[]>`select sum(accounts_written)::int as n from polling_job_workspaces where job_id = ${jobId}`;
  return n;
}

describe('the warmup pass through the state machine', () => {
  it('writes one row per live account for the day, equal to the simulator’s figures, carrying the job that wrote it', async () => {
    const result = await runLocally(world.deps, WARMUP);
    expect(result.status).toBe('SUCCEEDED');
    const job = await jobOf(result.executionArn);
    expect(job).toMatchObject({
      job_name: `${world.deps.config.jobName}-warmup`,
      run_mode: 'warmup',
      warmup_day: DAY,
      status: 'completed',
      warnings: [],
    });
    let total = 0;
    for (const name of world.names) {
      const stored = await storedWarmup(name);
      expect(withoutJob(stored)).toEqual(truthAsStored(name));
      expect(stored.map((row) => row.emailbison_id)).toEqual((await liveAccounts(db.sql, name)).map((a) => a.emailbison_id));
      expect(new Set(stored.map((row) => row.job_id))).toEqual(stored.length > 0 ? new Set([job.id]) : new Set());
      total += stored.length;
    }
    expect(total).toBe(4228);
    expect(job.total_accounts_synced).toBe(4228);
    expect(await rowsWritten(job.id)).toBe(4228);
    // The same walk as the account sync: 15 a page, each workspace's pages once, plus its key check.
    const warmupRequests = world.sim.requestLog().filter((r) => r.path === '/api/warmup/sender-emails' && r.status === 200);
    expect(warmupRequests.every((r) => r.query.start_date === DAY && r.query.end_date === DAY)).toBe(true);
  });

  it('writes nothing new on a second pass the same day, and only the changed row after a score drop', async () => {
    const versions = async () =>
      db.sql`select emailbison_id, xmin::text from sender_email_warmup_daily order by workspace_id, emailbison_id`;
    const before = await versions();
    const second = await runLocally(world.deps, WARMUP);
    const secondJob = await jobOf(second.executionArn);
    expect(secondJob.status).toBe('completed');
    expect(await rowsWritten(secondJob.id)).toBe(0);
    expect(await versions()).toEqual(before);

    const ws = 'Juniper Health';
    const account = world.sim.truth(ws)[7];
    world.sim.setWarmup(account.id, DAY, { warmup_score: 12 });
    const third = await runLocally(world.deps, WARMUP);
    const thirdJob = await jobOf(third.executionArn);
    expect(await rowsWritten(thirdJob.id)).toBe(1);
    const stored = await storedWarmup(ws);
    expect(withoutJob(stored)).toEqual(truthAsStored(ws));
    expect(stored.filter((row) => row.job_id === thirdJob.id)).toEqual([
      expect.objectContaining({ emailbison_id: account.id, warmup_score: 12 }),
    ]);
  });

  it('reads another day when the input names one, and rejects a day that is no date', async () => {
    const other = '2026-12-01';
    const result = await runLocally(world.deps, { mode: 'warmup', day: other, workspaces: ['Kestrel Ventures'] });
    expect((await jobOf(result.executionArn)).status).toBe('completed');
    expect(withoutJob(await storedWarmup('Kestrel Ventures', other))).toEqual(truthAsStored('Kestrel Ventures', other));

    const bad = await runLocally(world.deps, { mode: 'warmup', day: '2026-02-30' });
    expect(bad.status).toBe('FAILED');
    expect(bad.error).toBe('InvalidInputError');
  });

  it('says an instance without the warmup list once, skips its workspaces and does not fail the job', async () => {
    world.sim.setWarmupRoute(false);
    world.sim.clearRequestLog();
    const result = await runLocally(world.deps, WARMUP);
    expect(result.status).toBe('SUCCEEDED');
    const job = await jobOf(result.executionArn);
    const host = new URL(world.sim.url).host;
    expect(job.status).toBe('completed');
    const listed = [...world.names].sort((a, b) => a.localeCompare(b)).slice(0, 1)[0];
    expect(job.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^no warmup endpoint: EmailBison at ${host.replaceAll('.', '\\.')} answered 404 to GET /api/warmup/sender-emails: its 26 workspaces skipped \\(`,
        ),
      ),
    ]);
    expect(job.warnings[0]).toContain(listed);
    expect(job.warnings[0]).toContain(`EmailBison at ${host} answered 404`);
    const rows = await db.sql`select status, error from polling_job_workspaces where job_id = ${job.id}`;
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['skipped']));
    // At most one request per workspace in flight when the first 404 came back (the Map's concurrency); the rest asked nothing.
    const asked = world.sim.requestLog().filter((r) => r.path === '/api/warmup/sender-emails');
    expect(asked.length).toBeLessThanOrEqual(3);
    expect(asked.length).toBeGreaterThanOrEqual(1);
  });

  it('keeps every row through 429s, 5xx and malformed pages on every workspace', async () => {
    await db.sql`delete from sender_email_warmup_daily where day = ${DAY}::date`;
    // 429s without a wait to honour (a Retry-After pauses the whole host in real time; the account sync's tests cover it).
    world.sim.setFaults('*', {
      rateLimitFraction: 0.15,
      retryAfterSeconds: null,
      serverErrorFraction: 0.1,
      malformedPages: [2],
      missingMetaPages: [3],
      malformedTimes: 1,
    });
    const result = await runLocally(world.deps, WARMUP);
    const job = await jobOf(result.executionArn);
    expect(job.status).toBe('completed');
    for (const name of world.names) expect(withoutJob(await storedWarmup(name))).toEqual(truthAsStored(name));
    expect(world.sim.requestLog().some((r) => r.path === '/api/warmup/sender-emails' && r.status === 429)).toBe(true);
  });

  it('ends partial with an error naming the workspace when a page stays malformed, the other workspaces written', async () => {
    await db.sql`delete from sender_email_warmup_daily where day = ${DAY}::date`;
    const ws = 'Tidewater Consulting';
    world.sim.setFaults(ws, { malformedPages: [4] });
    const result = await runLocally(world.deps, WARMUP);
    const job = await jobOf(result.executionArn);
    expect(job.status).toBe('partial');
    expect(job.warnings).toEqual([expect.stringMatching(/^Tidewater Consulting: failed: MalformedPageError: .*Tidewater Consulting/)]);
    // Nothing lost: the pages before the bad one are written; every other workspace is whole.
    expect((await storedWarmup(ws)).length).toBeGreaterThanOrEqual(45);
    for (const name of world.names.filter((n) => n !== ws)) expect(withoutJob(await storedWarmup(name))).toEqual(truthAsStored(name));
  });

  it('resumes from its saved cursor across invocations (a time budget reached, a Lambda that dies)', async () => {
    await db.sql`delete from sender_email_warmup_daily where day = ${DAY}::date`;
    const ws = 'Tidewater Consulting';
    let fakeNow = 0;
    const slow = createSyncWorkspaceTask({
      ...world.deps,
      now: () => (fakeNow += 1000),
      config: { ...world.deps.config, syncBudgetSeconds: 10, batchSize: 15 },
    });
    const sync = createSyncWorkspaceTask(world.deps);
    let crashed = false;
    const [{ id }] = await db.sql<{ id: number }[]>`select id from workspaces where name = ${ws}`;
    world.sim.clearRequestLog();
    const result = await runLocally(
      world.deps,
      { ...WARMUP, workspaces: [ws, 'Kestrel Ventures'] },
      {
        syncWorkspace: async (event: unknown) => {
          const e = event as SyncWorkspaceEvent;
          if (e.workspace.id !== id) return sync(e);
          if (!crashed) {
            crashed = true;
            await slow(e); // some pages written with the cursor past them, then the Lambda dies
            throw new Error('Runtime exited with error: signal: killed');
          }
          return slow(e);
        },
      },
    );
    const job = await jobOf(result.executionArn);
    expect(job.status).toBe('completed');
    expect(withoutJob(await storedWarmup(ws))).toEqual(truthAsStored(ws));
    const [row] = await db.sql`select invocations, pages from polling_job_workspaces where job_id = ${job.id} and workspace_id = ${id}`;
    expect(row.invocations).toBeGreaterThan(2);
    // Each of its 29 pages read once, but for those fetched ahead (PAGE_CONCURRENCY) when an invocation stopped: no walk from the top again.
    const pages = world.sim.requestLog().filter((r) => r.path === '/api/warmup/sender-emails' && r.workspace === ws && r.status === 200);
    expect(pages.filter((r) => r.query.page === '1')).toHaveLength(1);
    expect(new Set(pages.map((r) => r.query.page)).size).toBe(29);
    expect(pages.length).toBeLessThanOrEqual(29 + world.deps.config.pageConcurrency * row.invocations);
  });

  it('neither blocks nor is blocked by the account sync, and counts no account change in its digest', async () => {
    const ws = 'Dunmore Legal';
    const account = world.sim.truth(ws).find((a) => a.status === 'Connected')!;
    await world.sim.changeAccount(account.id, 'disconnect');
    // A warmup pass still running (a job row of its own name) does not hold the sync's lock.
    const running = await startJob(db.sql, { jobName: world.deps.config.jobName, mode: 'warmup', warmupDay: DAY, runTimeoutMinutes: 60 });
    expect(running.status).toBe('started');
    const sync = await runLocally(world.deps, { workspaces: [ws] });
    expect(await jobOf(sync.executionArn)).toMatchObject({ status: 'completed', run_mode: 'sync', accounts_disconnected: 1 });
    await db.sql`update polling_job_status set status = 'failed', completed_at = now() where id = ${running.status === 'started' ? running.jobId : ''}`;

    await world.sim.changeAccount(account.id, 'reconnect');
    const warmup = await runLocally(world.deps, { ...WARMUP, workspaces: [ws] });
    expect(await jobOf(warmup.executionArn)).toMatchObject({ status: 'completed', accounts_disconnected: 0 });
    // The account sync's window is not cut by the warmup pass: the next sync still sees the reconnection.
    const next = await runLocally(world.deps, { workspaces: [ws] });
    const [{ accounts_reconnected }] =
      await db.sql`select accounts_reconnected from polling_job_status where execution_arn = ${next.executionArn}`;
    expect(accounts_reconnected).toBe(1);
  });
});
