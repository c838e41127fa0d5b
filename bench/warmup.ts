import type { Config } from '../lambdas/config/load-config';
import type { Sql } from '../lambdas/db/client';
import { closeSharedDispatchers } from '../lambdas/emailbison/client';
import { instanceHost } from '../lambdas/emailbison/host-budget';
import { createTaskHandlers } from '../lambdas/tasks';
import { countBy } from '../sim/request-windows';
import { runStateMachineLocally } from '../state-machine/local-runner';
import { CONFIG, pipelineDeps, registerScenario } from './deps';
import { THROTTLE } from './emailbison';
import { MAP_CONCURRENCY } from './end-to-end';
import { type Figure, median } from './report';
import { type SimChild, startSimChild } from './sim-child';

/*
 * Issue 24: the daily warmup pass (the state machine in warmup mode) against a throttled
 * instance (12a's: Laravel's fixed 1-second windows of 5 requests) with EMAILBISON_MAX_RPS at
 * its limit. Its floor is the requests it needs at that rate: one warmup page per 15 accounts
 * of each workspace, each workspace's key check, and any retry. Target: within 1.1x. Also the
 * second pass the same day: it writes no row. `npm run bench -- --only warmup`.
 */
const SCENARIO = 'seed-2025';
const LATENCY_MS = 20;
const DAY = '2026-12-04';

export async function benchWarmup(sql: Sql, runs: number, log: (line: string) => void): Promise<Figure[]> {
  const rate = THROTTLE.requests / THROTTLE.windowSeconds;
  const config: Config = { ...CONFIG, emailbisonMaxRps: rate };
  log(
    `  warmup pass: ${SCENARIO}, ${THROTTLE.requests} requests per ${THROTTLE.windowSeconds} s (fixed window), EMAILBISON_MAX_RPS=${rate}, L=${LATENCY_MS} ms`,
  );
  const sim = await startSimChild(SCENARIO, LATENCY_MS, { pagination: 'page', rateLimit: THROTTLE });
  try {
    const { secretsFile } = await registerScenario(sql, sim);
    const accounts = sim.workspaces().reduce((sum, w) => sum + w.total, 0);
    const samples: { ms: number; requests: number; floorMs: number; throttled: number; worstWorkspace: number }[] = [];
    let secondWritten = -1;
    for (let run = 1; run <= runs; run++) {
      await sql`delete from sender_email_warmup_daily`;
      const { ms, requests, written } = await measuredPass(sql, sim, secretsFile, config, accounts);
      const throttled = requests.filter((r) => r.rateLimited);
      const sample = {
        ms,
        requests: requests.length,
        floorMs: (requests.length / rate) * 1000,
        throttled: throttled.length,
        worstWorkspace: Math.max(0, ...countBy(throttled, (r) => r.workspace ?? '?').values()),
      };
      samples.push(sample);
      log(
        `    run ${run}/${runs}: ${Math.round(ms)} ms for ${sample.requests} requests (floor ${Math.round(sample.floorMs)} ms, ${(ms / sample.floorMs).toFixed(3)}x), ${sample.throttled} 429s, ${written} rows written`,
      );
    }
    {
      const again = await measuredPass(sql, sim, secretsFile, config, accounts);
      secondWritten = again.written;
      log(`    the same day again: ${Math.round(again.ms)} ms, ${again.requests.length} requests, ${again.written} rows written`);
    }
    const section = '24 warmup pass';
    const ratios = samples.map((s) => s.ms / s.floorMs);
    return [
      {
        section,
        name: 'wall time',
        value: median(samples.map((s) => s.ms)),
        unit: 'ms',
        runs,
        samples: samples.map((s) => s.ms),
        note: `${SCENARIO}, ${accounts} accounts' warmup figures for one day, page mode, L = ${LATENCY_MS} ms`,
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
        note: `the pass's requests (warmup pages, key checks, retries) at ${rate} a second, the instance's limit and EMAILBISON_MAX_RPS`,
      },
      {
        section,
        name: 'wall / floor',
        value: median(ratios),
        unit: 'x',
        runs,
        samples: ratios,
        target: { op: '<=', value: 1.1, text: '<= 1.1x' },
      },
      {
        section,
        name: '429s provoked',
        value: median(samples.map((s) => s.throttled)),
        unit: 'req',
        runs,
        samples: samples.map((s) => s.throttled),
        note: `the worst workspace: ${Math.max(...samples.map((s) => s.worstWorkspace))}`,
      },
      {
        section,
        name: 'rows written by a second pass the same day',
        value: secondWritten,
        unit: 'rows',
        runs: 1,
        target: { op: '<=', value: 0, text: '0' },
      },
    ];
  } finally {
    await sim.close();
    await closeSharedDispatchers();
  }
}

/** One warmup pass through the synthesized state machine; throws unless every account has its row for the day. */
async function measuredPass(sql: Sql, sim: SimChild, secretsFile: string, config: Config, accounts: number) {
  await sql`delete from emailbison_host_budget where host = ${instanceHost(sim.url)}`;
  await sim.resetCounters();
  const started = performance.now();
  const execution = await runStateMachineLocally({
    input: { mode: 'warmup', day: DAY },
    handlers: createTaskHandlers(pipelineDeps(sql, secretsFile, config)),
    mapConcurrency: MAP_CONCURRENCY,
  });
  const ms = performance.now() - started;
  const output = execution.output as { status?: string; jobId?: string } | undefined;
  const [{ stored }] = await sql<{ stored: number }[]>`select count(*)::int as stored from sender_email_warmup_daily where day = ${DAY}`;
  if (execution.status !== 'SUCCEEDED' || output?.status !== 'completed' || stored !== accounts) {
    throw new Error(
      `the warmup pass did not complete: ${execution.status} ${output?.status ?? ''}, ${stored} of ${accounts} rows ${execution.error ?? ''} ${execution.cause ?? ''}`,
    );
  }
  const [{ written }] = await sql<{ written: number }[]>`
    select coalesce(sum(accounts_written), 0)::int as written from polling_job_workspaces where job_id = ${output.jobId ?? null}::uuid
  `;
  return { ms, requests: await sim.requestLog(), written };
}
