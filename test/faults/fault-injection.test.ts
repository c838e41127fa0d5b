import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMarkFailedTask } from '../../lambdas/mark-failed/task';
import { createSyncWorkspaceTask, type SyncWorkspaceEvent } from '../../lambdas/sync-workspace/task';
import { runStateMachineLocally } from '../../state-machine/local-runner';
import { createTestDatabase } from '../helpers/database';
import { realHandlers, runLocally, type Observed } from '../helpers/local-run';
import { createWorld, type World } from '../helpers/world';
import { emailbisonScenarios, EMAILBISON_SCENARIOS } from './emailbison-scenarios';
import { createFaultHarness } from './harness';

/*
 * Fault injection through the whole pipeline: each scenario runs the synthesized state
 * machine locally with the real handlers, against the simulator and a real Postgres,
 * then checks every workspace: one that synced equals the simulator's truth (no account
 * lost, none duplicated, none wrongly removed); one that did not is exactly as it was.
 * The job row must be terminal with the right status and warnings.
 */
const db = await createTestDatabase();
const WORKSPACES = ['Acme Outbound', 'Kestrel Ventures', 'Northbeam Recruiting', 'Tidewater Consulting', 'Umbra Cybersecurity'];
const harness = createFaultHarness(db, WORKSPACES);
const { summary, snapshot, verify, scenario } = harness;
let world: World;

beforeAll(async () => {
  world = await createWorld(db.sql, { only: WORKSPACES, config: { EMAILBISON_MAX_ATTEMPTS: '8' } });
  world.deps.emailbison = { ...world.deps.emailbison, headersTimeoutMs: 300 };
  harness.world = world;
  const first = await runLocally(world.deps, {});
  expect(first.output).toMatchObject({ status: 'completed' });
});

afterAll(async () => {
  await world.sim.close();
  console.log(harness.summaryLine());
});

describe('fault injection through the local state machine', () => {
  it('429 storms with Retry-After: every account arrives, the waits are recorded', async () => {
    const { job } = await scenario(
      () => {
        world.sim.updateAccounts('Tidewater Consulting', 40);
        world.sim.setFaults('*', { rateLimitFraction: 0.4, retryAfterSeconds: 2 });
      },
      { status: 'completed', warnings: [] },
    );
    const [waits] =
      await db.sql`select sum(rate_limit_wait_ms)::int as ms, sum(retries)::int as retries from polling_job_workspaces where job_id = ${job.id}`;
    expect(waits.ms).toBeGreaterThan(0);
    expect(waits.retries).toBeGreaterThan(0);
  });

  it('5xx bursts are retried inside the client', async () => {
    await scenario(
      () => {
        world.sim.addAccounts('Acme Outbound', 6);
        world.sim.setFaults('*', { serverErrorFraction: 0.3 });
      },
      { status: 'completed', warnings: [] },
    );
  });

  it('a hung request times out and is retried', async () => {
    const { job } = await scenario(
      () => {
        world.sim.setFaults('Tidewater Consulting', { hangPages: [2, 17], hangTimes: 1 });
      },
      { status: 'completed', warnings: [] },
    );
    const [row] =
      await db.sql`select retries from polling_job_workspaces where job_id = ${job.id} and workspace_name = 'Tidewater Consulting'`;
    expect(row.retries).toBeGreaterThanOrEqual(2);
  });

  it('a malformed page that recovers is retried and kept', async () => {
    await scenario(
      () => {
        world.sim.removeAccounts('Northbeam Recruiting', 5);
        world.sim.setFaults('Northbeam Recruiting', { malformedPages: [3], missingMetaPages: [7], malformedTimes: 2 });
      },
      { status: 'completed', warnings: [] },
    );
  });

  it('a page that stays malformed fails its workspace only, which is left as it was', async () => {
    await scenario(
      () => {
        world.sim.removeAccounts('Northbeam Recruiting', 4);
        world.sim.updateAccounts('Acme Outbound', 10);
        world.sim.setFaults('Northbeam Recruiting', { malformedPages: [4] });
      },
      {
        status: 'partial',
        failed: ['Northbeam Recruiting'],
        warnings: [/^Northbeam Recruiting: failed: MalformedPageError: .*page 4/],
      },
    );
  });

  it('invalid items are skipped with a warning; their page-mates are kept and the invalid ones not removed', async () => {
    const [victim] = world.sim.truth('Acme Outbound');
    await scenario(() => world.sim.setFaults('Acme Outbound', { invalidItemIds: [victim.id] }), {
      status: 'completed',
      warnings: [new RegExp(`^Acme Outbound: skipped an invalid item on page 1: .*${victim.id}`)],
    });
  });

  it('one rejected key fails that workspace only', async () => {
    await scenario(
      () => {
        world.sim.updateAccounts('Kestrel Ventures', 5);
        world.sim.setFaults('Kestrel Ventures', { rejectKey: true });
      },
      {
        status: 'partial',
        failed: ['Kestrel Ventures'],
        warnings: [/^Kestrel Ventures: failed: RejectedApiKeyError: EmailBison rejected the API key of workspace "Kestrel Ventures"/],
      },
    );
  });

  it('the database connection killed mid-batch: the attempt fails, the retry resumes, nothing is lost', async () => {
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    // Widen each write so the kill lands inside one (a statement-level trigger that sleeps 40 ms).
    await admin
      .unsafe(`
      create or replace function slow_write() returns trigger language plpgsql as $$ begin perform pg_sleep(0.04); return null; end $$;
      create trigger slow_write after insert on polling_job_seen_accounts for each statement execute function slow_write();`)
      .simple();
    let killed = 0;
    let stop = false;
    // pg_stat_activity keeps the first 1 KB of a query: match the upsert by its opening CTE.
    const killer = (async () => {
      while (!stop && killed === 0) {
        const rows = await admin`
          select pg_terminate_backend(pid) as done from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like '%with incoming as (%'`;
        killed += rows.filter((r) => r.done).length;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      world.sim.updateAccounts('Tidewater Consulting', 30);
      const { job } = await scenario(
        () => {},
        { status: 'completed', warnings: [] },
        {
          deps: { ...world.deps, config: { ...world.deps.config, batchSize: 60 } },
        },
      );
      expect(killed).toBeGreaterThanOrEqual(1);
      const [{ invocations }] =
        await db.sql`select sum(invocations)::int as invocations from polling_job_workspaces where job_id = ${job.id}`;
      expect(invocations).toBeGreaterThan(WORKSPACES.length);
    } finally {
      stop = true;
      await killer;
      await admin.unsafe('drop trigger slow_write on polling_job_seen_accounts; drop function slow_write();').simple();
      await admin.end();
    }
  });

  it('a handler that crashes mid-workspace is retried from its saved cursor', async () => {
    const sync = createSyncWorkspaceTask(world.deps);
    let fakeNow = 0;
    const partOfTheWay = createSyncWorkspaceTask({
      ...world.deps,
      now: () => (fakeNow += 1000),
      config: { ...world.deps.config, syncBudgetSeconds: 12, batchSize: 15 },
    });
    let crashes = 0;
    world.sim.addAccounts('Tidewater Consulting', 3);
    const [{ id: tidewater }] = await db.sql<{ id: number }[]>`select id from workspaces where name = 'Tidewater Consulting'`;
    await scenario(
      () => {},
      { status: 'completed', warnings: [] },
      {
        override: {
          syncWorkspace: async (event) => {
            const e = event as SyncWorkspaceEvent;
            if (e.workspace.id === tidewater && crashes === 0) {
              crashes += 1;
              await partOfTheWay(e);
              throw new Error('Runtime exited with error: signal: killed');
            }
            return sync(e);
          },
        },
      },
    );
    expect(crashes).toBe(1);
  });

  it('the deadline loop: a tiny budget syncs every workspace through many invocations', async () => {
    let fakeNow = 0;
    world.sim.updateAccounts('Northbeam Recruiting', 20);
    const { job } = await scenario(
      () => {},
      { status: 'completed', warnings: [] },
      {
        deps: { ...world.deps, now: () => (fakeNow += 2000), config: { ...world.deps.config, syncBudgetSeconds: 9 } },
      },
    );
    const [row] =
      await db.sql`select invocations from polling_job_workspaces where job_id = ${job.id} and workspace_name = 'Tidewater Consulting'`;
    expect(row.invocations).toBeGreaterThan(10);
  });

  it('accounts added and removed while paging: no false removal, and the next clean run settles it', async () => {
    await scenario(() => world.sim.setFaults('Tidewater Consulting', { drift: { afterRequests: 4, add: 5, remove: 4 } }), {
      status: 'completed',
      inconsistent: ['Tidewater Consulting'],
      warnings: [/^Tidewater Consulting: nothing marked removed: /],
    });
    await scenario(() => {}, { status: 'completed', warnings: [], followUp: true });
  });

  it('an empty response from a workspace that had accounts removes nothing', async () => {
    await scenario(() => world.sim.setFaults('Acme Outbound', { emptyResponse: true }), {
      status: 'completed',
      inconsistent: ['Acme Outbound'],
      warnings: [/^Acme Outbound: nothing marked removed: EmailBison reported 0 accounts for a workspace with \d+ live accounts/],
    });
  });

  it('two runs started together: one runs, the other says already running', async () => {
    const before = await snapshot();
    const [{ jobs }] = await db.sql`select count(*)::int as jobs from polling_job_status`;
    const [a, b] = await Promise.all([runLocally(world.deps, {}), runLocally(world.deps, {})]);
    const ran = [a, b].filter((r) => (r.output as { status?: string }).status !== 'already_running');
    const refused = [a, b].filter((r) => (r.output as { status?: string }).status === 'already_running');
    expect(ran).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].status).toBe('SUCCEEDED');
    expect(refused[0].observed.calls.size).toBe(0);
    expect(await db.sql`select count(*)::int as jobs from polling_job_status`).toEqual([{ jobs: jobs + 1 }]);
    await verify(ran[0], before, { status: 'completed', warnings: [] });
  });

  it('a stale running row is failed with a reason, and the run goes ahead', async () => {
    const [stale] =
      await db.sql`insert into polling_job_status (job_name, started_at) values (${world.deps.config.jobName}, now() - interval '5 hours') returning id`;
    await scenario(() => {}, { status: 'completed', warnings: [] });
    const [row] = await db.sql`select status, error_message from polling_job_status where id = ${stale.id}`;
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/still running after 300 min, longer than the run timeout of 60 min/);
  });

  it('an aborted execution is marked failed by the mark-failed path, and no job stays running', async () => {
    const before = await snapshot();
    const controller = new AbortController();
    const observed: Observed = { inFlight: 0, peak: 0, calls: new Map() };
    const deps = { ...world.deps, signal: controller.signal };
    const handlers = realHandlers(deps, observed);
    const sync = handlers.syncWorkspace;
    const inFlight = new Set<Promise<unknown>>();
    handlers.syncWorkspace = (event) => {
      if (!controller.signal.aborted) setTimeout(() => controller.abort(), 30);
      const running = sync(event);
      inFlight.add(running);
      return running;
    };
    const result = await runStateMachineLocally({ input: {}, handlers, instantRetries: true, signal: controller.signal });
    expect(result.status).toBe('ABORTED');
    await Promise.allSettled([...inFlight]);
    // What the EventBridge rule on ABORTED invokes in AWS.
    await createMarkFailedTask(world.deps)({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { executionArn: result.executionArn, status: 'ABORTED' },
    });
    summary.scenarios += 1;
    const [job] = await db.sql`select * from polling_job_status where execution_arn = ${result.executionArn}`;
    expect(job).toMatchObject({ status: 'failed', error_message: 'The execution ended ABORTED.' });
    const after = await snapshot();
    // Whatever was written before the abort is upstream's truth; nothing was removed or lost.
    for (const name of WORKSPACES) {
      const truthIds = new Set(world.sim.truth(name).map((a) => a.id));
      const lost = (before.get(name) ?? []).filter((a) => !a.deleted && !(after.get(name) ?? []).some((b) => b.id === a.id && !b.deleted));
      summary.lost += lost.length;
      summary.accountsChecked += truthIds.size;
      expect(lost).toEqual([]);
    }
    const [{ stuck }] = await db.sql`select count(*)::int as stuck from polling_job_status where status = 'running'`;
    expect(stuck).toBe(0);
  });

  // EmailBison as it is in late 2026 (issue 12): pagination modes, page cap, errors, key binding, rate, dead instances.
  emailbisonScenarios(harness);

  it('ends with nothing lost, nothing duplicated, no job stuck', () => {
    expect(summary).toMatchObject({ lost: 0, duplicated: 0, wronglyRemoved: 0, stuckJobs: 0 });
    expect(summary.scenarios).toBe(15 + EMAILBISON_SCENARIOS);
  });
});
