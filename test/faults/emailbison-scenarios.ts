import { countingDispatcher } from '../helpers/map-run';
import { expect, it } from 'vitest';
import type { TaskDeps } from '../../lambdas/runtime/deps';
import { PAGE_CAP_ANSWERS, type SimRequest } from '../../sim/server';
import { busiestWindow, countBy } from '../../sim/request-windows';
import type { FaultHarness } from './harness';

/*
 * Fault scenarios for EmailBison as other teams found it in late 2026 (issue 12, DESIGN.md
 * "What changed by late 2026"): both pagination modes and a switch between them, page
 * mode's depth cap, a fixed-window rate limit, keys bound to another workspace, HTTP 200
 * `success: false`, HTML error pages and a dead instance. Registered into the fault suite
 * (fault-injection.test.ts), which owns the world and prints the one summary line; each
 * runs the synthesized state machine with the real handlers (a new EmailBison client per
 * invocation, as each Map iteration is its own Lambda on AWS) and leaves the simulator as
 * it found it.
 */

/** How many scenarios this module counts into the summary (the suite checks the total). */
export const EMAILBISON_SCENARIOS = 20;

/** The instance's fixed window for the throttled scenario: high, so the suite stays fast. */
const INSTANCE_LIMIT = { requests: 50, windowSeconds: 1 };
/**
 * EMAILBISON_MAX_RPS at the instance's limit, less 2: the host budget spaces request slots
 * 1/rate apart, but the sends jitter by a few ms after the slot (event loop, pool), so a
 * window can catch one request more than the rate.
 */
const THROTTLED_MAX_RPS = 48;
/**
 * A dead instance: requests any one workspace may send before the run gives up on it (before
 * the breaker: 24). Its first invocation sends two at once (the key binding check and the
 * first page), and each may be retried once before the host's third failure opens the breaker.
 */
const DEAD_INSTANCE_MAX_REQUESTS_PER_WORKSPACE = 4;

export function emailbisonScenarios(h: FaultHarness): void {
  const { scenario } = h;
  const sim = () => h.world.sim;
  const keyOf = (name: string) => {
    const workspace = sim()
      .workspaces()
      .find((w) => w.name === name);
    if (!workspace) throw new Error(`no simulator workspace "${name}"`);
    return workspace.apiKey;
  };
  const withConfig = (config: Partial<TaskDeps['config']>): TaskDeps => ({
    ...h.world.deps,
    config: { ...h.world.deps.config, ...config },
  });
  /** Puts the instance back as the other scenarios expect it: page mode, no cap, no limiter. */
  const restoreInstance = () => {
    sim().setPagination('page');
    sim().setPageCap(undefined);
    sim().setRateLimit(undefined);
    sim().setUsersRoute(true);
  };
  const listRequests = (log: SimRequest[]) => log.filter((r) => r.path === '/api/sender-emails');

  it('an instance that switches to cursor mode mid-walk: the workspace walks again in cursor mode in the same run, keeps what it wrote, removes nothing on the mixed walk', async () => {
    sim().clearRequestLog();
    try {
      const { job } = await scenario(
        () => {
          sim().addAccounts('Tidewater Consulting', 6);
          sim().updateAccounts('Tidewater Consulting', 15);
          sim().setPagination('cursor-only', { afterRequests: 8 });
        },
        {
          status: 'completed',
          warnings: [
            /^Tidewater Consulting: restarted the walk in cursor pagination after \d+ page\(s\): EmailBison answered page \d+ in cursor pagination/,
            /^Tidewater Consulting: nothing marked removed: .*mixed modes/,
          ],
        },
        { input: { workspaces: ['Tidewater Consulting'] } },
      );
      const modes = listRequests(sim().requestLog()).map((r) => r.pagination);
      expect(
        modes.slice(0, 8).every((m) => m === 'page'),
        'the walk began in page mode',
      ).toBe(true);
      expect(modes.at(-1)).toBe('cursor');
      const [row] = await h.world.deps.sql`select invocations from polling_job_workspaces where job_id = ${job.id}`;
      expect(row.invocations, 'the same invocation went on in cursor mode').toBe(1);
    } finally {
      restoreInstance();
    }
  });

  it('page mode capped below the largest workspace (422 past page 10): every account arrives through cursors', async () => {
    sim().clearRequestLog();
    try {
      await scenario(
        () => {
          sim().setPageCap(10);
          sim().addAccounts('Northbeam Recruiting', 4);
          sim().updateAccounts('Acme Outbound', 12);
        },
        // Tidewater remembers cursor mode from the scenario above; the two others hit the cap mid-walk.
        {
          status: 'completed',
          warnings: [
            /^Acme Outbound: restarted the walk in cursor pagination after 10 page\(s\): EmailBison refused page 11 past its page-depth cap \(HTTP 422\)/,
            /^Acme Outbound: nothing marked removed: .*mixed modes/,
            /^Northbeam Recruiting: restarted the walk in cursor pagination after 10 page\(s\): EmailBison refused page 11 past its page-depth cap \(HTTP 422\)/,
            /^Northbeam Recruiting: nothing marked removed: .*mixed modes/,
          ],
        },
      );
      const log = sim().requestLog();
      expect(log.filter((r) => r.status === 422).length, 'the cap was hit').toBeGreaterThan(0);
      expect(listRequests(log).some((r) => r.pagination === 'cursor')).toBe(true);
      // The next run starts in the mode that worked, reads no capped page, and removes what is gone.
      sim().clearRequestLog();
      await scenario(() => void sim().removeAccounts('Northbeam Recruiting', 3), { status: 'completed', warnings: [], followUp: true });
      expect(
        sim()
          .requestLog()
          .filter((r) => r.status === 422),
        'no capped page asked for again',
      ).toEqual([]);
    } finally {
      restoreInstance();
    }
  });

  it('a cursor-default instance: every account arrives and removals apply at once', async () => {
    try {
      await scenario(
        () => {
          sim().setPagination('cursor-default');
          sim().addAccounts('Acme Outbound', 7);
          sim().removeAccounts('Northbeam Recruiting', 5);
          sim().updateAccounts('Tidewater Consulting', 20);
        },
        { status: 'completed', warnings: [] },
      );
    } finally {
      restoreInstance();
    }
  });

  it('a cursor-only instance: every account arrives; one gone upstream is removed once two complete walks miss it', async () => {
    try {
      sim().setPagination('cursor-only');
      await scenario(
        () => {
          sim().addAccounts('Kestrel Ventures', 5);
          sim().removeAccounts('Tidewater Consulting', 4);
          sim().updateAccounts('Acme Outbound', 10);
        },
        // Acme, Northbeam and Tidewater remember cursor mode from the scenarios above; the others learn it now.
        {
          status: 'completed',
          removalPending: ['Tidewater Consulting'],
          warnings: [
            /^Kestrel Ventures: reading in cursor pagination: EmailBison answered page 1 in cursor pagination/,
            /^Tidewater Consulting: 4 account\(s\) not seen are not marked removed yet: EmailBison gave no account total/,
            /^Umbra Cybersecurity: reading in cursor pagination/,
          ],
        },
      );
      await scenario(() => {}, { status: 'completed', warnings: [], followUp: true });
    } finally {
      restoreInstance();
    }
  });

  it(`a throttled instance (${INSTANCE_LIMIT.requests} per ${INSTANCE_LIMIT.windowSeconds} s, fixed window) with EMAILBISON_MAX_RPS at its limit: no second above it, at most one 429 per workspace`, async () => {
    sim().clearRequestLog();
    try {
      await scenario(
        () => {
          sim().setRateLimit(INSTANCE_LIMIT);
          sim().updateAccounts('Northbeam Recruiting', 30);
        },
        { status: 'completed', warnings: [] },
        { deps: withConfig({ emailbisonMaxRps: THROTTLED_MAX_RPS }) },
      );
      const log = sim().requestLog();
      expect(log.length, 'enough requests to span several windows').toBeGreaterThan(INSTANCE_LIMIT.requests);
      expect(
        busiestWindow(
          log.map((r) => r.atMs),
          INSTANCE_LIMIT.windowSeconds * 1000,
        ),
        'requests in the busiest window',
      ).toBeLessThanOrEqual(INSTANCE_LIMIT.requests);
      const throttled = countBy(
        log.filter((r) => r.rateLimited),
        (r) => r.workspace ?? '?',
      );
      for (const [workspace, count] of throttled) expect(count, `429s provoked by ${workspace}`).toBeLessThanOrEqual(1);
    } finally {
      restoreInstance();
    }
  });

  it('a key bound to another workspace than its row records: that workspace fails with KeyBoundElsewhereError, nothing written or removed', async () => {
    const key = keyOf('Kestrel Ventures');
    try {
      await scenario(
        () => {
          sim().bindKey(key, 'Acme Outbound');
          sim().removeAccounts('Kestrel Ventures', 2);
          sim().updateAccounts('Acme Outbound', 8);
        },
        { status: 'partial', failed: ['Kestrel Ventures'], warnings: [/^Kestrel Ventures: failed: KeyBoundElsewhereError: /] },
      );
    } finally {
      sim().bindKey(key, 'Kestrel Ventures');
    }
  });

  it('a key registered under the wrong workspace, no binding recorded yet: nothing written, nothing removed, the binding not taken', async () => {
    const key = keyOf('Northbeam Recruiting');
    const { sql } = h.world.deps;
    const [{ emailbison_workspace_id: recorded }] =
      await sql`select emailbison_workspace_id from workspaces where name = 'Northbeam Recruiting'`;
    try {
      await scenario(
        async () => {
          await sql`update workspaces set emailbison_workspace_id = null where name = 'Northbeam Recruiting'`;
          sim().bindKey(key, 'Tidewater Consulting');
          sim().removeAccounts('Northbeam Recruiting', 3);
        },
        { status: 'partial', failed: ['Northbeam Recruiting'], warnings: [/^Northbeam Recruiting: failed: KeyBoundElsewhereError: /] },
      );
      const [row] = await sql`select emailbison_workspace_id from workspaces where name = 'Northbeam Recruiting'`;
      expect(row.emailbison_workspace_id, "Tidewater's id is not recorded for Northbeam").toBeNull();
    } finally {
      sim().bindKey(key, 'Northbeam Recruiting');
      await sql`update workspaces set emailbison_workspace_id = ${recorded} where name = 'Northbeam Recruiting'`;
    }
  });

  it("HTTP 200 with success: false is no page: retried as malformed, then fails that workspace only, with EmailBison's message", async () => {
    await scenario(
      () => {
        sim().setFaults('Kestrel Ventures', { successFalse: { message: 'This workspace has been suspended.' } });
        sim().updateAccounts('Kestrel Ventures', 4);
        sim().addAccounts('Acme Outbound', 3);
      },
      {
        status: 'partial',
        failed: ['Kestrel Ventures'],
        warnings: [/^Kestrel Ventures: failed: MalformedPageError: .*EmailBison said: "This workspace has been suspended\."/],
      },
    );
  });

  it("a proxy's HTML error pages are retried as unavailable: every account arrives", async () => {
    await scenario(
      () => {
        sim().setFaults('*', { htmlErrorPage: { status: 502, times: 2 } });
        sim().addAccounts('Umbra Cybersecurity', 2);
      },
      { status: 'completed', warnings: [] },
    );
  });

  it('an instance that does not serve GET /api/users: the sync goes on, each workspace warns that its binding was not checked', async () => {
    try {
      const { job } = await scenario(
        () => {
          sim().setUsersRoute(false);
          sim().updateAccounts('Acme Outbound', 5);
        },
        { status: 'completed', warningsEach: /^[^:]+: API key binding not checked/ },
      );
      expect(job.warnings, 'one warning per workspace').toHaveLength(h.world.names.length);
    } finally {
      restoreInstance();
    }
  });

  it('a dead instance refusing connections: every workspace named unreachable after a few requests each', async () => {
    const counting = countingDispatcher(sim().url);
    try {
      await sim().setUnreachable('refuse');
      await scenario(() => {}, deadInstanceExpectation(h.world.names), {
        deps: { ...h.world.deps, emailbison: { ...h.world.deps.emailbison, dispatcher: counting.dispatcher } },
      });
      expect(counting.requestsByKey.size, 'the requests went through the counting transport').toBeGreaterThan(0);
      for (const name of h.world.names) {
        expect(counting.requestsByKey.get(keyOf(name)) ?? 0, `requests of ${name}`).toBeLessThanOrEqual(
          DEAD_INSTANCE_MAX_REQUESTS_PER_WORKSPACE,
        );
      }
    } finally {
      await sim().setUnreachable(false);
      await counting.close();
      await forgetBreaker(h);
    }
  });

  it('a dead instance accepting connections and never answering: every workspace named unreachable after a few requests each', async () => {
    sim().clearRequestLog();
    try {
      await sim().setUnreachable('hang');
      await scenario(() => {}, deadInstanceExpectation(h.world.names));
      const byWorkspace = countBy(sim().requestLog(), (r) => r.workspace ?? '?');
      expect(byWorkspace.size, 'the requests reached the instance').toBeGreaterThan(0);
      for (const [name, count] of byWorkspace)
        expect(count, `requests of ${name}`).toBeLessThanOrEqual(DEAD_INSTANCE_MAX_REQUESTS_PER_WORKSPACE);
    } finally {
      await sim().setUnreachable(false);
      await forgetBreaker(h);
    }
  });

  // Issue 22 item 1: the page cap known by its status alone. Its real body is documented nowhere.
  for (const answer of PAGE_CAP_ANSWERS) {
    it(`page mode capped past page 10, the 422 answered ${answer === 'empty' ? 'with no body' : `with ${answer === 'laravel' ? "Laravel's errors" : answer === 'message' ? 'a message alone' : 'an HTML page'}`}: every account arrives through cursors`, async () => {
      sim().clearRequestLog();
      try {
        const { job } = await scenario(
          async () => {
            // Every workspace starts in page mode, as on a first run.
            await h.world.deps.sql`update workspaces set pagination_mode = null`;
            sim().setPageCap(10, answer);
            sim().addAccounts('Northbeam Recruiting', 2);
            sim().updateAccounts('Tidewater Consulting', 9);
          },
          {
            status: 'completed',
            warningsEach:
              /^(Acme Outbound|Northbeam Recruiting|Tidewater Consulting): (restarted the walk in cursor pagination after 10 page\(s\): EmailBison refused page 11 past its page-depth cap \(HTTP 422\)|nothing marked removed: .*mixed modes)/,
          },
        );
        expect(job.warnings, 'each workspace past 10 pages restarted once and removed nothing').toHaveLength(6);
        expect(
          sim()
            .requestLog()
            .filter((r) => r.status === 422).length,
          'the cap was hit',
        ).toBeGreaterThan(0);
      } finally {
        restoreInstance();
      }
    });
  }

  // Issue 22 item 3: walks that end. Tidewater (433 accounts, 29 cursor pages) loops; the others complete.
  for (const length of [2, 5]) {
    it(`a cursor cycle of length ${length}: that workspace fails within seconds, saying what EmailBison did; the others complete`, async () => {
      sim().clearRequestLog();
      const started = performance.now();
      try {
        const { job } = await scenario(
          () => {
            sim().setPagination('cursor-only');
            sim().setFaults('Tidewater Consulting', { cursorCycle: length });
            sim().updateAccounts('Acme Outbound', 6);
          },
          {
            status: 'partial',
            failed: ['Tidewater Consulting'],
            // Workspaces that learn cursor mode now say so; Tidewater says what EmailBison did.
            warningsEach: /^([^:]+: reading in cursor pagination: |Tidewater Consulting: failed: EndlessWalkError: )/,
          },
        );
        const seconds = (performance.now() - started) / 1000;
        const failure = (job.warnings as string[]).find((w) => w.startsWith('Tidewater Consulting: failed: '));
        expect(failure).toMatch(
          new RegExp(
            `would not end: cursor cycle: cursor "[^"]+" returned again after ${length} page\\(s\\) \\(\\d+ page\\(s\\) read in this invocation\\); stopped, nothing marked removed`,
          ),
        );
        const tidewater = listRequests(sim().requestLog()).filter((r) => r.workspace === 'Tidewater Consulting');
        expect(tidewater.length, 'requests of the looping workspace').toBeLessThan(4 * (length + 2));
        expect(seconds, 'the run ended within seconds').toBeLessThan(15);
      } finally {
        restoreInstance();
      }
    });
  }

  // Issue 22 item 2: bounded answers through the pipeline (the memory figure: bounded-answers.test.ts, in a child process).
  it('an endless 200 body: that workspace fails with ResponseTooLargeError after its retries; the others complete', async () => {
    await scenario(
      () => {
        sim().setFaults('Kestrel Ventures', { endlessBody: true });
        sim().updateAccounts('Acme Outbound', 5);
      },
      {
        status: 'partial',
        failed: ['Kestrel Ventures'],
        warnings: [
          /^Kestrel Ventures: failed: ResponseTooLargeError: .*\(page 1\) for workspace "Kestrel Ventures" \(HTTP 200\) went past 8 MiB/,
        ],
      },
    );
  });

  it('a body trickling just under the idle timeout: that workspace fails with ResponseTimeoutError within the request cap; the others complete', async () => {
    const started = performance.now();
    await scenario(
      () => {
        sim().setFaults('Kestrel Ventures', { trickleBodyMs: 700 });
        sim().updateAccounts('Northbeam Recruiting', 5);
      },
      {
        status: 'partial',
        failed: ['Kestrel Ventures'],
        warnings: [/^Kestrel Ventures: failed: ResponseTimeoutError: .*did not end within 2000 ms/],
      },
      { deps: { ...h.world.deps, emailbison: { ...h.world.deps.emailbison, bodyTimeoutMs: 1_000, requestTimeoutMs: 2_000 } } },
    );
    // Each of the state machine's attempts at Kestrel ends at the 2 s cap, never at the 1 s idle timeout.
    expect((performance.now() - started) / 1000).toBeLessThan(30);
  });
}

function deadInstanceExpectation(names: string[]) {
  const sorted = [...names].sort();
  return { status: 'failed' as const, failed: sorted, warnings: sorted.map((name) => new RegExp(`^${escapeRegExp(name)}: unreachable: `)) };
}

/**
 * The breaker of the instance's host stays open for minutes after a dead-instance scenario
 * (as it should: the next scheduled run is an hour away). The instance is back for the
 * scenarios that follow, so forget what the budget learned.
 */
async function forgetBreaker(h: FaultHarness): Promise<void> {
  await h.world.deps.sql`delete from emailbison_host_budget`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
