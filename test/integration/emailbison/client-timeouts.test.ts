import { expect, it } from 'vitest';
import { idsOf, readAll, seedSim, simClient } from './fixtures';

// Hung requests, apart from the other faults: undici checks headersTimeout on a timer of
// ~1 s resolution, so each hang costs about a second whatever the timeout.
const WORKSPACE = 'Acme Outbound'; // 187 accounts: 13 pages
const sim = await seedSim();

const allIds = () => idsOf(sim.truth(WORKSPACE));

it('gives up on a hung request at headersTimeoutMs and retries it', async () => {
  sim.setFaults(WORKSPACE, { hangPages: [7], hangTimes: 1 });
  const client = simClient(sim, WORKSPACE, { headersTimeoutMs: 100 });
  const { ids } = await readAll(client);

  expect(ids).toEqual(allIds());
  expect(client.stats.retries).toBe(1);
});

it('serves a slow (not hung) response within the timeout without retrying', async () => {
  sim.setFaults(WORKSPACE, { hangPages: [3], hangMs: 50 });
  const client = simClient(sim, WORKSPACE, { headersTimeoutMs: 1_000 });
  const { ids } = await readAll(client);

  expect(ids).toEqual(allIds());
  expect(client.stats.retries).toBe(0);
});

it('reports the workspace unavailable when a page stays hung, after maxAttempts', async () => {
  sim.setFaults(WORKSPACE, { hangPages: [4] });
  const { pages, error } = await readAll(simClient(sim, WORKSPACE, { headersTimeoutMs: 100, maxAttempts: 2 }));

  expect(pages.map((page) => page.page)).toEqual([1, 2, 3]);
  expect(error).toMatchObject({
    name: 'EmailBisonUnavailableError',
    code: 'SS_EMAILBISON_UNAVAILABLE',
    retryable: true,
    page: 4,
    workspace: WORKSPACE,
  });
  expect((error as Error).message).toContain('page 4 of workspace "Acme Outbound" after 2 attempt(s)');
  expect((error as Error).message).toContain('no response within 100 ms');
});

it('receives every account once when a share of requests is held for a while', async () => {
  sim.setFaults(WORKSPACE, { hangFraction: 0.3, hangMs: 40 });
  const client = simClient(sim, WORKSPACE);
  const { ids } = await readAll(client);

  expect(ids).toEqual(allIds());
  expect(client.stats.retries).toBe(0);
});
