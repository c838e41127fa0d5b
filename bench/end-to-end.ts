import { closeSharedDispatchers } from '../lambdas/emailbison/client';
import type { Sql } from '../lambdas/db/client';
import { PAGE_SIZE } from '../sim/server';
import { runBaseline } from './baseline';
import { clearAccounts } from './database';
import { CONFIG, pipelineDeps, registerScenario } from './deps';
import { runPipeline } from './pipeline';
import { median, type Figure } from './report';
import { startSimChild, type SimWorkspaceInfo } from './sim-child';

/*
 * Items 1-3: the sync through the state machine at L = 50 ms per request, next to the
 * replaced system's pattern on the same simulator and database (runs interleaved, so
 * both see the same machine), then the same sync at L = 0.
 */
export const LATENCY_MS = 50;
export const MAP_CONCURRENCY = 3;

export interface LowerBound {
  ms: number;
  slowestMs: number;
  slowestWorkspace: string;
  sumMs: number;
  pages: number;
}

/** The API-bound lower bound: per workspace L x (1 + ceil((pages - 1) / page concurrency)); for the run max(slowest, sum / Map concurrency). */
export function lowerBound(workspaces: SimWorkspaceInfo[], latencyMs: number, pageConcurrency: number, mapConcurrency: number): LowerBound {
  let slowest = { ms: 0, name: '' };
  let sumMs = 0;
  let pages = 0;
  for (const workspace of workspaces) {
    const p = Math.max(1, Math.ceil(workspace.total / PAGE_SIZE));
    const ms = latencyMs * (1 + Math.ceil((p - 1) / pageConcurrency));
    pages += p;
    sumMs += ms;
    if (ms > slowest.ms) slowest = { ms, name: workspace.name };
  }
  return { ms: Math.max(slowest.ms, sumMs / mapConcurrency), slowestMs: slowest.ms, slowestWorkspace: slowest.name, sumMs, pages };
}

export async function benchEndToEnd(sql: Sql, scenario: string, runs: number, log: (line: string) => void): Promise<Figure[]> {
  const sim = await startSimChild(scenario, LATENCY_MS);
  try {
    const { secretsFile } = await registerScenario(sql, sim);
    const workspaces = sim.workspaces();
    const accounts = workspaces.reduce((sum, w) => sum + w.total, 0);
    const bound = lowerBound(workspaces, LATENCY_MS, CONFIG.pageConcurrency, MAP_CONCURRENCY);
    const section = `1-3 ${scenario}`;
    const pipeline: { ms: number; requests: number }[] = [];
    const baseline: { ms: number; requests: number }[] = [];
    const speedUps: number[] = [];

    const measure = async (run: () => Promise<{ accounts: number }>) => {
      await clearAccounts(sql);
      await sim.resetCounters();
      const started = performance.now();
      const result = await run();
      const ms = performance.now() - started;
      const written = await storedAccounts(sql);
      if (result.accounts !== accounts || written !== accounts)
        throw new Error(`${scenario}: expected ${accounts} accounts, synced ${result.accounts}, stored ${written}`);
      return { ms, requests: (await sim.counters()).requests };
    };
    for (let run = 1; run <= runs; run++) {
      const deps = pipelineDeps(sql, secretsFile);
      pipeline.push(
        await measure(async () => ({ accounts: (await runPipeline(deps, { mapConcurrency: MAP_CONCURRENCY })).accountsSynced })),
      );
      baseline.push(await measure(() => runBaseline(sql, sim.url, workspaces)));
      speedUps.push(baseline.at(-1)!.ms / pipeline.at(-1)!.ms);
      log(`  ${scenario} run ${run}/${runs}: sync ${Math.round(pipeline.at(-1)!.ms)} ms, baseline ${Math.round(baseline.at(-1)!.ms)} ms`);
    }

    await sim.setLatency(0);
    const ceiling: number[] = [];
    for (let run = 1; run <= runs; run++) {
      ceiling.push(
        (
          await measure(async () => ({
            accounts: (await runPipeline(pipelineDeps(sql, secretsFile), { mapConcurrency: MAP_CONCURRENCY })).accountsSynced,
          }))
        ).ms,
      );
      log(`  ${scenario} L=0 run ${run}/${runs}: ${Math.round(ceiling.at(-1)!)} ms`);
    }

    const wall = median(pipeline.map((r) => r.ms));
    const baselineWall = median(baseline.map((r) => r.ms));
    const ratios = pipeline.map((r) => r.ms / bound.ms);
    const formula =
      `bound = max(slowest workspace, sum / ${MAP_CONCURRENCY}); workspace = L x (1 + ceil((pages - 1) / ${CONFIG.pageConcurrency})), pages = max(1, ceil(accounts / ${PAGE_SIZE})); ` +
      `L = ${LATENCY_MS} ms, ${workspaces.length} workspaces, ${bound.pages} pages: slowest ${bound.slowestMs} ms (${bound.slowestWorkspace}), ` +
      `sum ${bound.sumMs} ms / ${MAP_CONCURRENCY} = ${Math.round(bound.sumMs / MAP_CONCURRENCY)} ms -> bound ${Math.round(bound.ms)} ms`;
    return [
      { section, name: `sync wall time (L=${LATENCY_MS} ms)`, value: wall, unit: 'ms', runs, samples: pipeline.map((r) => r.ms) },
      {
        section,
        name: 'sync requests',
        value: median(pipeline.map((r) => r.requests)),
        unit: 'req',
        runs,
        samples: pipeline.map((r) => r.requests),
        note: `${bound.pages} pages in the scenario`,
      },
      {
        section,
        name: `sync accounts/s (L=${LATENCY_MS} ms)`,
        value: accounts / (wall / 1000),
        unit: 'acc/s',
        runs,
        note: `${accounts} accounts`,
      },
      { section, name: 'API-bound lower bound', value: bound.ms, unit: 'ms', runs: 1, note: formula },
      {
        section,
        name: 'wall / lower bound',
        value: median(ratios),
        unit: 'x',
        runs,
        samples: ratios,
        target: { op: '<=', value: 1.3, text: '<= 1.3x' },
      },
      {
        section,
        name: `baseline wall time (L=${LATENCY_MS} ms)`,
        value: baselineWall,
        unit: 'ms',
        runs,
        samples: baseline.map((r) => r.ms),
        note: 'pages one after another, one INSERT ... ON CONFLICT per account, 3 workspaces at a time',
      },
      { section, name: 'baseline requests', value: median(baseline.map((r) => r.requests)), unit: 'req', runs },
      {
        section,
        name: 'speed-up vs baseline',
        value: median(speedUps),
        unit: 'x',
        runs,
        samples: speedUps,
        target: { op: '>=', value: 3, text: '>= 3x' },
        note: 'baseline / sync wall time, per pair of interleaved runs',
      },
      { section, name: 'ceiling wall time (L=0)', value: median(ceiling), unit: 'ms', runs, samples: ceiling },
      {
        section,
        name: 'ceiling accounts/s (L=0)',
        value: accounts / (median(ceiling) / 1000),
        unit: 'acc/s',
        runs,
        note: 'end to end through the state machine, simulator in its own process',
      },
    ];
  } finally {
    await sim.close();
    await closeSharedDispatchers();
  }
}

async function storedAccounts(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from sender_emails where deleted_at is null`;
  return row.n;
}
