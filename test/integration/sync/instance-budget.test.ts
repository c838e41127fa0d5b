import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambdas/config/load-config';
import { createTestDatabase } from '../../helpers/database';
import { busiestWindow } from '../../../sim/request-windows';
import { countingDispatcher, runJobAsMap } from '../../helpers/map-run';
import { createWorld, storedAccounts, truthAsStored, type World } from '../../helpers/world';

const db = await createTestDatabase();
let world: World | undefined;
afterEach(async () => {
  await world?.sim.close();
  world = undefined;
});

async function throttledWorld(maxRps: string, scenario = 'grid:6:240'): Promise<World> {
  world = await createWorld(db.sql, { scenario, config: { EMAILBISON_MAX_RPS: maxRps } });
  return world;
}

async function workspaceRows(jobId: string) {
  return db.sql<{ workspace_name: string; status: string; error: string | null; warnings: string[] }[]>`
    select workspace_name, status, error, warnings from polling_job_workspaces where job_id = ${jobId} order by workspace_name`;
}

describe('one request budget per EmailBison instance, each Map iteration with its own client', () => {
  it('syncs a throttled instance with the cap at its limit: no second above it, at most one 429 per workspace', async () => {
    const { sim, deps, names } = await throttledWorld('48');
    sim.setRateLimit({ requests: 50, windowSeconds: 1 });
    sim.clearRequestLog();

    const summary = await runJobAsMap(deps, { databaseUrl: db.url });

    expect(summary).toMatchObject({ status: 'completed', workspacesSynced: 6 });
    for (const name of names) expect(await storedAccounts(db.sql, name)).toEqual(truthAsStored(sim, name));
    const log = sim.requestLog();
    expect(log.length).toBeGreaterThanOrEqual(6 * 17);
    expect(
      busiestWindow(
        log.map((r) => r.atMs),
        1_000,
      ),
    ).toBeLessThanOrEqual(50);
    for (const name of names) {
      expect(log.filter((r) => r.workspace === name && r.rateLimited).length, name).toBeLessThanOrEqual(1);
    }
  });

  it("pauses every workspace of the instance on one workspace's 429, for its Retry-After", async () => {
    const { sim, deps } = await throttledWorld('40', 'grid:6:60');
    // Ten a second: the instance's window runs out long before the cap does.
    sim.setRateLimit({ requests: 10, windowSeconds: 1 });
    sim.clearRequestLog();

    const summary = await runJobAsMap(deps, { databaseUrl: db.url });

    expect(summary).toMatchObject({ status: 'completed', workspacesSynced: 6 });
    const log = sim.requestLog();
    const throttled = log.filter((r) => r.rateLimited);
    expect(throttled.length).toBeGreaterThan(0);
    // After a 429 (Retry-After: the window's end, under a second away) the whole host waits:
    // only requests that already held a slot (one interval ahead) may still arrive.
    const first = throttled[0];
    const [{ pause_reason }] = await db.sql<
      { pause_reason: string }[]
    >`select pause_reason from emailbison_host_budget where host = ${new URL(sim.url).host}`;
    // The last pause set: a 429's, or a later answer's spent window (Remaining 0) holding the host until it ends.
    expect(pause_reason).toMatch(/429|X-RateLimit-Remaining 0 until the window resets/);
    const during = log.filter((r) => r.atMs > first.atMs + 250 && r.atMs < first.atMs + 900 && !r.rateLimited);
    const windowEnd = Math.ceil(first.atMs / 1000) * 1000;
    expect(during.filter((r) => r.atMs < windowEnd - 50)).toEqual([]);
    // Fewer 429s than workspaces that ran into the spent window would have got without the
    // shared pause: at a cap of 40 against a limit of 10 a second, about three in four. (A
    // quarter was the bound; under the whole suite's load one run met it exactly.)
    expect(throttled.length).toBeLessThan(log.length / 3);
  });

  it('issues no budget statement at EMAILBISON_MAX_RPS=0', async () => {
    const { sim, deps } = await throttledWorld('0');
    expect(deps.config.emailbisonMaxRps).toBe(0);
    const summary = await runJobAsMap(deps, { databaseUrl: db.url });
    expect(summary).toMatchObject({ status: 'completed', workspacesSynced: 6 });
    const rows = await db.sql`select host from emailbison_host_budget where host = ${new URL(sim.url).host}`;
    expect(rows).toEqual([]);
  });
});

describe('a dead instance', () => {
  for (const mode of ['refuse', 'hang'] as const) {
    it(`fails every workspace as unreachable after a few requests each (${mode})`, async () => {
      world = await createWorld(db.sql, { scenario: 'grid:7:30', config: { EMAILBISON_MAX_RPS: String(loadConfig({}).emailbisonMaxRps) } });
      const { sim, deps, names } = world;
      const keys = new Map(sim.workspaces().map((w) => [w.apiKey, w.name]));
      const transport = countingDispatcher(sim.url);
      deps.emailbison = { ...deps.emailbison, dispatcher: transport.dispatcher, headersTimeoutMs: 400 };
      await sim.setUnreachable(mode);
      try {
        const summary = await runJobAsMap(deps, { databaseUrl: db.url });

        expect(summary).toMatchObject({ status: 'failed', workspacesSynced: 0, workspacesFailed: 7 });
        for (const name of names) {
          expect(summary.warnings).toContainEqual(
            expect.stringMatching(new RegExp(`^${name}: unreachable: EmailBison at ${new URL(sim.url).host} is unreachable`)),
          );
        }
        for (const row of await workspaceRows(summary.jobId)) {
          expect(row).toMatchObject({ status: 'failed', error: expect.stringMatching(/^EmailBisonUnreachableError: /) });
        }
        const perWorkspace = names.map((name) =>
          [...transport.requestsByKey].filter(([key]) => keys.get(key) === name).reduce((n, [, c]) => n + c, 0),
        );
        // The breaker opens at the host's third failure in a row. A workspace's first invocation
        // sends two requests at once (binding check, first page), each retried at most once before then.
        for (const count of perWorkspace) expect(count).toBeLessThanOrEqual(4);
        expect(perWorkspace.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(12);
        if (mode === 'hang') expect(sim.requestLog().length).toBe(perWorkspace.reduce((a, b) => a + b, 0));
      } finally {
        await transport.close();
      }
    });
  }
});
