import { type Config, loadConfig } from '../lambdas/config/load-config';
import type { Sql } from '../lambdas/db/client';
import { closeSharedDispatchers } from '../lambdas/emailbison/client';
import { finalizeJob } from '../lambdas/jobs/finalize-job';
import { estimatedRequests, PLAN_HEADROOM, type PlanLimits, scheduleIntervalSeconds } from '../lambdas/jobs/plan-run';
import { startJob } from '../lambdas/jobs/start-job';
import { scenarioSpec } from '../sim/scenarios';
import { clearAccounts } from './database';
import { pipelineDeps, registerScenario } from './deps';
import { HISTORY_EVENT_LIMIT, historyFigures, largestPayload, PAYLOAD_LIMIT_BYTES } from './history';
import { runPipeline } from './pipeline';
import { median, type Figure } from './report';
import { startSimChild } from './sim-child';

/*
 * Item 6: 1,000 workspaces of 200 accounts through the state machine (L = 0, so the
 * run measures the pipeline, not the simulated network): wall time, the largest state
 * input or output, and the execution history as AWS would count it, from which the
 * largest workspace count one execution can hold before the 25,000-event quota.
 */
export const SCALE_SCENARIO = 'grid:1000:200';
const PAYLOAD_TARGET_BYTES = 16 * 1024;

export async function benchScale(sql: Sql, runs: number, log: (line: string) => void): Promise<Figure[]> {
  const sim = await startSimChild(SCALE_SCENARIO, 0);
  try {
    const { secretsFile } = await registerScenario(sql, sim);
    const accounts = sim.workspaces().reduce((sum, w) => sum + w.total, 0);
    const walls: number[] = [];
    const payloads: number[] = [];
    let largest = { bytes: 0, where: '' };
    let history = historyFigures([]);
    for (let run = 1; run <= runs; run++) {
      await clearAccounts(sql);
      const result = await runPipeline(pipelineDeps(sql, secretsFile));
      if (result.accountsSynced !== accounts) throw new Error(`scale run synced ${result.accountsSynced} of ${accounts} accounts`);
      walls.push(result.wallMs);
      const payload = largestPayload(result.execution.events);
      payloads.push(payload.bytes);
      if (payload.bytes >= largest.bytes) largest = payload;
      history = historyFigures(result.execution.events);
      log(
        `  ${SCALE_SCENARIO} run ${run}/${runs}: ${Math.round(result.wallMs)} ms, largest payload ${payload.bytes} B (${payload.where}), ${history.totalEvents} history events`,
      );
    }
    await clearAccounts(sql);
    const section = '6 scale 1,000 ws';
    return [
      {
        section,
        name: 'wall time (L=0)',
        value: median(walls),
        unit: 'ms',
        runs,
        samples: walls,
        note: `${accounts.toLocaleString('en-US')} accounts, ${(accounts / (median(walls) / 1000)).toFixed(0)} accounts/s`,
      },
      {
        section,
        name: 'largest state input/output',
        value: median(payloads),
        unit: 'B',
        runs,
        samples: payloads,
        target: { op: '<', value: PAYLOAD_TARGET_BYTES, text: '< 16 KiB' },
        note: `${largest.where}; AWS limit ${PAYLOAD_LIMIT_BYTES.toLocaleString('en-US')} B`,
      },
      {
        section,
        name: 'history events per workspace',
        value: history.maxPerWorkspace,
        unit: 'events',
        runs,
        note:
          `as AWS records them: Map iteration 2 + Sync workspace Task 5 + More pages? Choice 2 + Workspace synced Succeed 2 per invocation path; ` +
          `a cursor loop adds 7 (Task 5 + Choice 2), a retry 3; outside the Map: ${history.fixedEvents} events, ${history.totalEvents} in all`,
      },
      {
        section,
        name: 'workspaces before the 25,000-event limit',
        value: history.maxWorkspacesWithinLimit,
        unit: 'ws',
        runs,
        note: `floor((${HISTORY_EVENT_LIMIT} - ${history.fixedEvents}) / ${history.maxPerWorkspace}), one invocation per workspace; each extra cursor loop per workspace costs 7 more`,
      },
    ];
  } finally {
    await sim.close();
    await closeSharedDispatchers();
  }
}

/*
 * Issue 22 item 6: every workspace synced at any size. What runs: the real Start job and
 * Finalize job on the bench's Postgres, run after run, with the deployed defaults
 * (EMAILBISON_MAX_RPS 3, an hourly schedule, a 120-min run timeout). What is simulated:
 * the syncs themselves and the clock. Each workspace Start job hands to the Map is marked
 * synced with its accounts, and the run is taken to last what its requests cost at the
 * instance's cap: per instance, the sum of accounts/15 requests of the workspaces it synced,
 * divided by 3 req/s (the simulator's instance limit, 30 requests per 10 s; at the cap the
 * cap, not latency, sets the pace). Sizes are the simulator's seed-2026 workspaces (28, from
 * 0 to 1,626 accounts, 463 on average) repeated to 1,000 and 3,000; the runs start after
 * one complete sync (the state after a cut-over: every size known). "Before" is the order
 * Start job used until now (largest first, everything, no deferral), cut at the run timeout.
 */
const SCHEDULING_CASES = [
  { workspaces: 1000, instances: 1 },
  { workspaces: 1000, instances: 2 },
  { workspaces: 3000, instances: 1 },
  { workspaces: 3000, instances: 2 },
];
/** A day of hourly runs: enough for the 3,000-workspace instance's cycle, twice. */
const SIMULATED_RUNS = 24;
const SIM_RPS = 3;

export async function benchScheduling(sql: Sql, log: (line: string) => void): Promise<Figure[]> {
  const config = loadConfig({ EMAILBISON_MAX_RPS: String(SIM_RPS), SYNC_SCHEDULE: 'rate(1 hour)', RUN_TIMEOUT_MINUTES: '120' });
  const budgetSeconds = Math.min(scheduleIntervalSeconds(config.schedule)!, config.runTimeoutMinutes * 60);
  const seedSizes = scenarioSpec('seed-2026').workspaces.map((w) => w.accounts);
  const figures: Figure[] = [];
  await sql`update workspaces set active = false`;
  for (const { workspaces: count, instances } of SCHEDULING_CASES) {
    const label = `${count.toLocaleString('en-US')} ws, ${instances} instance${instances > 1 ? 's' : ''}`;
    const jobName = `bench-scheduling-${count}-${instances}`;
    const rows = await sql<{ id: number; host: string; accounts: number }[]>`
      insert into workspaces (name, base_url, api_key_ref, active)
      select ${`${jobName} `} || lpad(i::text, 4, '0'), 'https://eb' || (i % ${instances}) || '.bench.example', 'env:UNUSED_KEY', true
      from generate_series(1, ${count}) as i
      returning id, split_part(base_url, '/', 3) as host, 0 as accounts
    `;
    rows.forEach((row, i) => {
      row.accounts = seedSizes[i % seedSizes.length];
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    try {
      // The complete sync before (as after a cut-over): every size known, all synced at once.
      await simulatedRun(sql, jobName, config, undefined, byId);
      const lastSynced = new Map<number, number>();
      const gaps: number[] = [];
      const runSeconds: number[] = [];
      const startMs: number[] = [];
      const deferredPerRun: number[] = [];
      let everyWithin: number | undefined;
      const neededMinutes = new Map<string, number>();
      for (let run = 1; run <= SIMULATED_RUNS; run++) {
        const outcome = await simulatedRun(sql, jobName, config, { maxRps: SIM_RPS, budgetSeconds }, byId);
        startMs.push(outcome.startMs);
        runSeconds.push(outcome.runSeconds);
        deferredPerRun.push(outcome.deferred);
        for (const s of outcome.shortfalls) neededMinutes.set(s.host, s.neededMinutes);
        for (const id of outcome.synced) {
          gaps.push(run - (lastSynced.get(id) ?? 0));
          lastSynced.set(id, run);
        }
        if (everyWithin === undefined && lastSynced.size === count) everyWithin = run;
      }
      // Every workspace's wait at the end of the day counts too: one not synced since run r has waited SIMULATED_RUNS + 1 - r.
      for (const row of rows) gaps.push(SIMULATED_RUNS + 1 - (lastSynced.get(row.id) ?? 0));
      const maxGap = Math.max(...gaps);
      const before = beforeThisChange(rows, config.runTimeoutMinutes * 60);
      const needs = [...neededMinutes].map(([host, minutes]) => `${host} needs ${minutes} min`).join(', ') || 'every instance fits a run';
      log(
        `  ${label}: ${needs} at ${SIM_RPS} req/s; every workspace synced within K = ${everyWithin ?? `> ${SIMULATED_RUNS}`} runs, ` +
          `at most ${maxGap} runs between two syncs of one workspace; longest run ${Math.round(Math.max(...runSeconds) / 60)} min (a run may take ${budgetSeconds / 60}); ` +
          `before: ${before.neverSynced} never synced, every run ${before.runMinutes} min${before.timesOut ? ' (times out)' : ''}`,
      );
      const section = `6 every workspace synced, ${label}`;
      figures.push(
        {
          section,
          name: 'every workspace synced within K runs',
          value: everyWithin ?? Number.POSITIVE_INFINITY,
          unit: 'runs',
          runs: SIMULATED_RUNS,
          note: `${needs} at ${SIM_RPS} req/s; hourly runs of at most ${Math.round((budgetSeconds * PLAN_HEADROOM) / 60)} min of requests; median ${median(deferredPerRun)} deferred a run`,
        },
        {
          section,
          name: 'most runs between two syncs of a workspace',
          value: maxGap,
          unit: 'runs',
          runs: SIMULATED_RUNS,
          note: `over ${SIMULATED_RUNS} simulated hourly runs, the end of the day included`,
        },
        {
          section,
          name: 'longest simulated run',
          value: Math.max(...runSeconds) / 60,
          unit: 'min',
          runs: SIMULATED_RUNS,
          target: { op: '<=', value: budgetSeconds / 60, text: `<= ${budgetSeconds / 60} min` },
          note: "per instance, its synced workspaces' requests at its cap; the slowest instance",
        },
        {
          section,
          name: 'before: workspaces never synced',
          value: before.neverSynced,
          unit: 'ws',
          runs: 1,
          note: `largest first, everything, cut at the ${config.runTimeoutMinutes}-min run timeout: every run ${before.runMinutes} min${before.timesOut ? ', timed out' : ''}`,
        },
        { section, name: 'Start job (plan and rows)', value: median(startMs), unit: 'ms', runs: SIMULATED_RUNS, samples: startMs },
      );
    } finally {
      await sql`delete from polling_job_status where job_name = ${jobName}`;
      await sql`delete from workspaces where id = any(${rows.map((r) => r.id)}::int[])`;
      // Thousands of deleted rows left the tables bloated until autovacuum came: the CLI
      // section after this one read them (`missing` at 4.8x its floor instead of under 2x).
      await sql`vacuum analyze workspaces, polling_job_status, polling_job_workspaces`;
    }
  }
  return figures;
}

/** One run: the real Start job and Finalize job; the Map's syncs simulated (marked synced, timed at the cap). */
async function simulatedRun(
  sql: Sql,
  jobName: string,
  config: Config,
  limits: PlanLimits | undefined,
  byId: Map<number, { host: string; accounts: number }>,
) {
  const started = performance.now();
  const result = await startJob(sql, { jobName, runTimeoutMinutes: config.runTimeoutMinutes, limits });
  const startMs = performance.now() - started;
  if (result.status !== 'started') throw new Error(`scheduling bench: ${jobName} did not start (${result.status})`);
  const ids = result.workspaces.map((w) => w.id);
  await sql`
    update polling_job_workspaces p set status = 'synced', accounts_synced = t.accounts, finished_at = now()
    from unnest(${ids}::int[], ${ids.map((id) => byId.get(id)!.accounts)}::int[]) as t(id, accounts)
    where p.job_id = ${result.jobId} and p.workspace_id = t.id
  `;
  const job = await finalizeJob(sql, result.jobId);
  const perHost = new Map<string, number>();
  for (const id of ids) {
    const { host, accounts } = byId.get(id)!;
    perHost.set(host, (perHost.get(host) ?? 0) + estimatedRequests(accounts));
  }
  return {
    startMs,
    synced: ids,
    deferred: job.workspacesDeferred,
    shortfalls: result.shortfalls,
    runSeconds: Math.max(0, ...[...perHost.values()].map((requests) => requests / SIM_RPS)),
  };
}

/** The order Start job used before: largest first, every workspace, cut at the run timeout (per instance at its cap). */
function beforeThisChange(rows: { host: string; accounts: number }[], timeoutSeconds: number) {
  const elapsed = new Map<string, number>();
  let neverSynced = 0;
  for (const row of [...rows].sort((a, b) => b.accounts - a.accounts)) {
    const at = (elapsed.get(row.host) ?? 0) + estimatedRequests(row.accounts) / SIM_RPS;
    elapsed.set(row.host, at);
    if (at > timeoutSeconds) neverSynced += 1;
  }
  const longest = Math.max(...elapsed.values());
  return { neverSynced, timesOut: longest > timeoutSeconds, runMinutes: Math.round(Math.min(longest, timeoutSeconds) / 60) };
}
