import type { Sql } from '../lambdas/db/client';
import { closeSharedDispatchers } from '../lambdas/emailbison/client';
import { instanceHost } from '../lambdas/emailbison/host-budget';
import type { Config } from '../lambdas/config/load-config';
import { createTaskHandlers } from '../lambdas/tasks';
import type { SimRateLimit, SimRequest, SimUnreachable } from '../sim/server';
import { runStateMachineLocally } from '../state-machine/local-runner';
import { clearAccounts } from './database';
import { CONFIG, DEPLOYED_CONFIG, pipelineDeps, registerScenario } from './deps';
import { lowerBound, MAP_CONCURRENCY } from './end-to-end';
import { median, type Figure } from './report';
import { busiestWindow, countBy } from '../sim/request-windows';
import { startSimChild, type SimChild } from './sim-child';
import type { SimInstanceOptions } from './sim-process';

/*
 * Issue 12 item 8: EmailBison as it is in late 2026, three figures with their floors.
 * (a) a throttled instance (one fixed window for the whole instance, 5 a second) with
 *     EMAILBISON_MAX_RPS at its limit: wall time against requests / rate, and the 429s the run
 *     provoked (issue 22 item 4: within 1.05x, at most one 429 a workspace);
 * (b) a cursor-only instance: wall time against the sequential floor (cursor pages cannot be
 *     read ahead: pages x latency per workspace, workspaces 3 at a time);
 * (c) a dead instance, refusing connections and hanging: the time until the run ends, at the
 *     deployed settings (timeouts, attempts, request cap, the state machine's own retries).
 * Each through the synthesized state machine with the real task code, the simulator in its
 * own process, median of `runs`. `npm run bench -- --only emailbison` runs only these.
 */
const SCENARIO = 'seed-2025';
/**
 * The throttled instance (issue 22 item 4): Laravel's fixed 1-second windows of 5 requests, with
 * X-RateLimit-Limit/Remaining on every answer, and EMAILBISON_MAX_RPS=5, exactly its rate. The
 * old rule (an extra token once Remaining fell under 5%) halved the rate here: 1.29x the floor.
 */
export const THROTTLE: SimRateLimit = { requests: 5, windowSeconds: 1 };
const THROTTLED_LATENCY_MS = 20;
export const CURSOR_LATENCY_MS = 50;
const DEAD_TARGET_SECONDS = 60;

export async function benchEmailBison(sql: Sql, runs: number, log: (line: string) => void): Promise<Figure[]> {
  const figures: Figure[] = [];
  log(
    `  (a) throttled instance: ${THROTTLE.requests} requests per ${THROTTLE.windowSeconds} s (fixed window), EMAILBISON_MAX_RPS=${THROTTLE.requests}, L=${THROTTLED_LATENCY_MS} ms`,
  );
  figures.push(...(await benchThrottled(sql, runs, log)));
  log(`  (b) cursor-only instance, L=${CURSOR_LATENCY_MS} ms, EMAILBISON_MAX_RPS=0`);
  figures.push(...(await benchCursorOnly(sql, runs, log)));
  for (const mode of ['refuse', 'hang'] as const) {
    log(`  (c) dead instance (${mode === 'refuse' ? 'connections refused' : 'connections accepted, never answered'}), deployed settings`);
    figures.push(...(await benchDeadInstance(sql, mode, runs, log)));
  }
  return figures;
}

export async function benchThrottled(sql: Sql, runs: number, log: (line: string) => void): Promise<Figure[]> {
  const rate = THROTTLE.requests / THROTTLE.windowSeconds;
  const config: Config = { ...CONFIG, emailbisonMaxRps: rate };
  return withSim({ pagination: 'page', rateLimit: THROTTLE }, THROTTLED_LATENCY_MS, sql, async (sim, secretsFile, accounts) => {
    const samples: { ms: number; requests: number; floorMs: number; throttled: number; worstWorkspace: number; busiest: number }[] = [];
    for (let run = 1; run <= runs; run++) {
      const { ms, requests } = await measuredRun(sql, sim, secretsFile, config, accounts);
      const throttled = requests.filter((r) => r.rateLimited);
      const byWorkspace = countBy(throttled, (r) => r.workspace ?? '?');
      const sample = {
        ms,
        requests: requests.length,
        floorMs: (requests.length / rate) * 1000,
        throttled: throttled.length,
        worstWorkspace: Math.max(0, ...byWorkspace.values()),
        busiest: busiestWindow(
          requests.map((r) => r.atMs),
          THROTTLE.windowSeconds * 1000,
        ),
      };
      samples.push(sample);
      log(
        `    run ${run}/${runs}: ${Math.round(ms)} ms for ${sample.requests} requests (floor ${Math.round(sample.floorMs)} ms), ${sample.throttled} 429s, busiest second ${sample.busiest}`,
      );
    }
    const section = '12a throttled instance';
    const ratios = samples.map((s) => s.ms / s.floorMs);
    return [
      {
        section,
        name: 'wall time',
        value: median(samples.map((s) => s.ms)),
        unit: 'ms',
        runs,
        samples: samples.map((s) => s.ms),
        note: `${SCENARIO}, ${accounts} accounts, page mode, L = ${THROTTLED_LATENCY_MS} ms`,
      },
      {
        section,
        name: 'requests',
        value: median(samples.map((s) => s.requests)),
        unit: 'req',
        runs,
        samples: samples.map((s) => s.requests),
      },
      {
        section,
        name: 'floor (requests / rate)',
        value: median(samples.map((s) => s.floorMs)),
        unit: 'ms',
        runs,
        note: `the run's requests (sender-email pages, binding checks, event log pages, retries) at ${rate} a second, the instance's limit and EMAILBISON_MAX_RPS`,
      },
      {
        section,
        name: 'wall / floor',
        value: median(ratios),
        unit: 'x',
        runs,
        samples: ratios,
        target: { op: '<=', value: 1.05, text: '<= 1.05x' },
      },
      {
        section,
        name: '429s provoked',
        value: median(samples.map((s) => s.throttled)),
        unit: 'req',
        runs,
        samples: samples.map((s) => s.throttled),
        note: "answered 429 by the instance's limiter, all workspaces",
      },
      {
        section,
        name: 'most 429s of one workspace',
        value: Math.max(...samples.map((s) => s.worstWorkspace)),
        unit: 'req',
        runs,
        samples: samples.map((s) => s.worstWorkspace),
        target: { op: '<=', value: 1, text: '<= 1' },
        note: 'the worst of the runs, not a median',
      },
      {
        section,
        name: 'busiest second',
        value: Math.max(...samples.map((s) => s.busiest)),
        unit: 'req',
        runs,
        samples: samples.map((s) => s.busiest),
        note: `most requests arriving in any 1 s (sliding, so it can exceed what the instance's fixed window admitted) of the request log, the worst of the runs`,
      },
    ];
  });
}

export async function benchCursorOnly(sql: Sql, runs: number, log: (line: string) => void): Promise<Figure[]> {
  return withSim({ pagination: 'cursor-only' }, CURSOR_LATENCY_MS, sql, async (sim, secretsFile, accounts) => {
    // Cursor pages come one after another: the bound of end-to-end.ts with a page concurrency of 1.
    const bound = lowerBound(sim.workspaces(), CURSOR_LATENCY_MS, 1, MAP_CONCURRENCY);
    const samples: { ms: number; requests: number }[] = [];
    for (let run = 1; run <= runs; run++) {
      const { ms, requests } = await measuredRun(sql, sim, secretsFile, CONFIG, accounts);
      samples.push({ ms, requests: requests.length });
      log(`    run ${run}/${runs}: ${Math.round(ms)} ms, ${requests.length} requests (floor ${Math.round(bound.ms)} ms)`);
    }
    const section = '12b cursor-only instance';
    const ratios = samples.map((s) => s.ms / bound.ms);
    return [
      {
        section,
        name: `wall time (L=${CURSOR_LATENCY_MS} ms)`,
        value: median(samples.map((s) => s.ms)),
        unit: 'ms',
        runs,
        samples: samples.map((s) => s.ms),
        note: `${SCENARIO}, ${accounts} accounts`,
      },
      {
        section,
        name: 'requests',
        value: median(samples.map((s) => s.requests)),
        unit: 'req',
        runs,
        samples: samples.map((s) => s.requests),
        note: `${bound.pages} cursor pages in the scenario`,
      },
      {
        section,
        name: 'sequential floor',
        value: bound.ms,
        unit: 'ms',
        runs: 1,
        note:
          `max(slowest workspace, sum / ${MAP_CONCURRENCY}); workspace = L x pages, pages one after another; ` +
          `slowest ${bound.slowestMs} ms (${bound.slowestWorkspace}), sum ${bound.sumMs} ms / ${MAP_CONCURRENCY} -> ${Math.round(bound.ms)} ms`,
      },
      {
        section,
        name: 'wall / floor',
        value: median(ratios),
        unit: 'x',
        runs,
        samples: ratios,
        target: { op: '<=', value: 1.2, text: '<= 1.2x' },
      },
    ];
  });
}

export async function benchDeadInstance(sql: Sql, mode: SimUnreachable, runs: number, log: (line: string) => void): Promise<Figure[]> {
  return withSim({}, 0, sql, async (sim, secretsFile) => {
    const names = sim.workspaces().map((w) => w.name);
    await sim.setUnreachable(mode);
    const samples: { ms: number; worstWorkspace: number }[] = [];
    for (let run = 1; run <= runs; run++) {
      await forgetHost(sql, sim);
      await sim.resetCounters();
      const { ms, execution } = await timedExecution(sql, secretsFile, DEPLOYED_CONFIG);
      const output = execution.output as { status?: string; warnings?: string[] } | undefined;
      const [job] = await sql<
        { status: string; warnings: string[] }[]
      >`select status, warnings from polling_job_status order by started_at desc limit 1`;
      const unreachable = names.filter((name) => (job?.warnings ?? []).some((w) => w.startsWith(`${name}: unreachable: `)));
      if (job?.status !== 'failed' || unreachable.length !== names.length) {
        throw new Error(
          `dead instance (${mode}): expected every one of ${names.length} workspaces named unreachable and the job failed; got ${job?.status} (${execution.status} ${output?.status ?? ''}) with ${unreachable.length} unreachable: ${(job?.warnings ?? []).slice(0, 3).join(' | ')}`,
        );
      }
      // A refused connection reaches no server: only a hanging instance's log counts requests.
      const requests = mode === 'hang' ? await sim.requestLog() : [];
      const worstWorkspace = Math.max(0, ...countBy(requests, (r) => r.workspace ?? '?').values());
      samples.push({ ms, worstWorkspace });
      log(
        `    run ${run}/${runs}: the run ended after ${(ms / 1000).toFixed(1)} s${mode === 'hang' ? `, at most ${worstWorkspace} requests from one workspace` : ''}`,
      );
    }
    const section = `12c dead instance (${mode === 'refuse' ? 'refused' : 'hanging'})`;
    const seconds = samples.map((s) => s.ms / 1000);
    const figures: Figure[] = [
      {
        section,
        name: 'run ends after',
        value: median(seconds),
        unit: 's',
        runs,
        samples: seconds,
        target: { op: '<', value: DEAD_TARGET_SECONDS, text: `< ${DEAD_TARGET_SECONDS} s` },
        note:
          `${names.length} workspaces, deployed settings (EMAILBISON_MAX_RPS ${DEPLOYED_CONFIG.emailbisonMaxRps}, ${DEPLOYED_CONFIG.maxAttempts} attempts a request, ` +
          "the definition's retry waits); every workspace named unreachable, the job failed",
      },
    ];
    if (mode === 'hang') {
      figures.push({
        section,
        name: 'most requests of one workspace',
        value: Math.max(...samples.map((s) => s.worstWorkspace)),
        unit: 'req',
        runs,
        samples: samples.map((s) => s.worstWorkspace),
        note: 'from the request log, the worst of the runs (before: 24)',
      });
    }
    return figures;
  });
}

/** A simulator child for one figure, its workspaces registered as the only active ones. */
async function withSim<T>(
  instance: SimInstanceOptions,
  latencyMs: number,
  sql: Sql,
  measure: (sim: SimChild, secretsFile: string, accounts: number) => Promise<T>,
): Promise<T> {
  const sim = await startSimChild(SCENARIO, latencyMs, instance);
  try {
    const { secretsFile } = await registerScenario(sql, sim);
    const accounts = sim.workspaces().reduce((sum, w) => sum + w.total, 0);
    return await measure(sim, secretsFile, accounts);
  } finally {
    await sim.close();
    await closeSharedDispatchers();
  }
}

/** One full sync from an empty table; throws unless every account arrived. */
async function measuredRun(
  sql: Sql,
  sim: SimChild,
  secretsFile: string,
  config: Config,
  accounts: number,
): Promise<{ ms: number; requests: SimRequest[] }> {
  await clearAccounts(sql);
  await forgetHost(sql, sim);
  await sim.resetCounters();
  const { ms, execution } = await timedExecution(sql, secretsFile, config);
  const output = execution.output as { status?: string; totalAccountsSynced?: number } | undefined;
  const [{ stored }] = await sql<{ stored: number }[]>`select count(*)::int as stored from sender_emails where deleted_at is null`;
  if (execution.status !== 'SUCCEEDED' || output?.status !== 'completed' || stored !== accounts) {
    throw new Error(
      `the sync did not complete: ${execution.status} ${output?.status ?? ''}, ${stored} of ${accounts} accounts stored ${execution.error ?? ''} ${execution.cause ?? ''}`,
    );
  }
  return { ms, requests: await sim.requestLog() };
}

/** Each run starts with the host's budget unspent and its breaker closed, as after an idle hour. */
async function forgetHost(sql: Sql, sim: SimChild): Promise<void> {
  await sql`delete from emailbison_host_budget where host = ${instanceHost(sim.url)}`;
}

/** One execution of the synthesized state machine over the real tasks, timed. */
async function timedExecution(sql: Sql, secretsFile: string, config: Config) {
  const started = performance.now();
  const execution = await runStateMachineLocally({
    input: {},
    handlers: createTaskHandlers(pipelineDeps(sql, secretsFile, config)),
    mapConcurrency: MAP_CONCURRENCY,
  });
  return { ms: performance.now() - started, execution };
}
