import type { Sql } from '../lambdas/db/client';
import { closeSharedDispatchers } from '../lambdas/emailbison/client';
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
