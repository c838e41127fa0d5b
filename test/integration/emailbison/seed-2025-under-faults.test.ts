import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeSharedDispatchers } from '../../../lambdas/emailbison/dispatcher';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { idsOf, readAll, simClient } from './fixtures';

let sim: EmailBisonSim;

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'seed-2025', latencyMs: { minMs: 1, maxMs: 8 } });
});
afterAll(async () => {
  await sim.close();
  await closeSharedDispatchers();
});

it('receives every account of every seed-2025 workspace exactly once through 20% 429s and 10% 5xx, within pageConcurrency', async () => {
  sim.setFaults('*', { rateLimitFraction: 0.2, retryAfterSeconds: 1, serverErrorFraction: 0.1 });
  const pageConcurrency = 3;
  const workspaces = sim.workspaces();

  // All 26 at once: more pressure than the state machine's MaxConcurrency of 3. A request
  // fails 30% of the time here, so 10 attempts (not the default 6) keep a 0.3^10 chance per page.
  const results = await Promise.all(
    workspaces.map(async ({ name }) => {
      const client = simClient(sim, name, { pageConcurrency, maxAttempts: 10 });
      return { name, client, ...(await readAll(client)) };
    }),
  );

  let accounts = 0;
  for (const { name, client, ids, error } of results) {
    expect(error, name).toBeUndefined();
    expect(ids, name).toEqual(idsOf(sim.truth(name)));
    expect(new Set(ids).size, name).toBe(ids.length);
    expect(sim.counters(name).peakConcurrent, name).toBeLessThanOrEqual(pageConcurrency);
    expect(client.stats.requests, name).toBe(sim.counters(name).requests);
    accounts += ids.length;
  }
  expect(accounts).toBe(4_228);
  expect(Math.max(...workspaces.map(({ name }) => sim.counters(name).peakConcurrent))).toBe(pageConcurrency);

  const { byStatus } = sim.counters();
  expect(byStatus[429]).toBeGreaterThan(0);
  expect((byStatus[500] ?? 0) + (byStatus[502] ?? 0) + (byStatus[503] ?? 0) + (byStatus[504] ?? 0)).toBeGreaterThan(0);
  expect(results.reduce((sum, { client }) => sum + client.stats.rateLimitWaitMs, 0)).toBeGreaterThan(0);
});
