import { describe, expect, it } from 'vitest';
import { interleaveByHost, PLAN_HEADROOM, type PlanCandidate, planRun, scheduleIntervalSeconds } from '../../../lambdas/jobs/plan-run';

const HOUR = new Date('2026-12-05T03:00:00Z');
const hoursAgo = (h: number) => new Date(HOUR.getTime() - h * 3_600_000);

function candidate(id: number, fields: Partial<PlanCandidate> = {}): PlanCandidate {
  return {
    id,
    name: `W${String(id).padStart(4, '0')}`,
    host: 'a.example',
    lastSyncedAt: hoursAgo(1),
    lastAccountsSynced: 150,
    storedAccounts: 150,
    ...fields,
  };
}

describe('planRun', () => {
  it('orders by the last sync, oldest first (never synced first), ties largest first', () => {
    const plan = planRun(
      [
        candidate(1, { lastAccountsSynced: 10 }),
        candidate(2, { lastAccountsSynced: 900 }),
        candidate(3, { lastSyncedAt: hoursAgo(3) }),
        candidate(4, { lastSyncedAt: null, lastAccountsSynced: null }),
      ],
      { maxRps: 0, budgetSeconds: 3600 },
    );
    expect(plan.sync.map((c) => c.id)).toEqual([4, 3, 2, 1]);
    expect(plan.shortfalls).toEqual([]);
  });

  it("syncs what fits an instance's cap in the run and defers the rest, saying what the instance needs", () => {
    // 1,000 workspaces of 150 accounts: 10 requests each, 10,000 requests; at 3 req/s 56 min of a 60-min run's 54.
    const all = Array.from({ length: 1000 }, (_, i) => candidate(i + 1));
    const plan = planRun(all, { maxRps: 3, budgetSeconds: 3600 });
    const fits = Math.floor((3600 * PLAN_HEADROOM * 3) / 10);
    expect(plan.sync).toHaveLength(fits);
    expect(plan.shortfalls).toHaveLength(1);
    const [shortfall] = plan.shortfalls;
    expect(shortfall.deferred).toHaveLength(1000 - fits);
    expect(shortfall.neededMinutes).toBe(56);
    expect(shortfall.reason).toBe(
      'this instance (a.example) needs 56 min at 3 req/s: raise EMAILBISON_MAX_RPS or the interval (a run has 60 min)',
    );
  });

  it('always syncs the first workspace of an instance, however large, and defers everything after the first that does not fit', () => {
    const plan = planRun(
      [
        candidate(1, { lastSyncedAt: hoursAgo(5), lastAccountsSynced: 200_000 }),
        candidate(2, { lastSyncedAt: hoursAgo(4), lastAccountsSynced: 30_000 }),
        candidate(3, { lastSyncedAt: hoursAgo(3), lastAccountsSynced: 150 }),
      ],
      { maxRps: 3, budgetSeconds: 3600 },
    );
    expect(plan.sync.map((c) => c.id)).toEqual([1]);
    const small = planRun(
      [
        candidate(2, { lastSyncedAt: hoursAgo(4), lastAccountsSynced: 30_000 }),
        candidate(5, { lastAccountsSynced: 200_000 }),
        candidate(3),
      ],
      { maxRps: 3, budgetSeconds: 3600 },
    );
    // 5 does not fit after 2; 3, smaller and synced as recently, waits behind it.
    expect(small.sync.map((c) => c.id)).toEqual([2]);
    expect(small.shortfalls[0].deferred.map((c) => c.id)).toEqual([5, 3]);
  });

  it('sizes a never-synced workspace by its stored accounts, else by its instance mean', () => {
    const plan = planRun(
      [
        candidate(1, { lastSyncedAt: null, lastAccountsSynced: null, storedAccounts: 29_000 }),
        candidate(2, { lastSyncedAt: null, lastAccountsSynced: null, storedAccounts: 0 }),
      ],
      { maxRps: 3, budgetSeconds: 3600 },
    );
    // 29,000 accounts: 1,934 requests of the 9,720; the other is sized at the mean of the known one: 1,934 more.
    expect(plan.shortfalls).toEqual([]);
    const tight = planRun(plan.sync, { maxRps: 1, budgetSeconds: 3600 });
    expect(tight.sync).toHaveLength(1);
    expect(tight.shortfalls[0].neededMinutes).toBe(Math.ceil((2 * 1934) / 60));
  });

  it('interleaves instances round-robin, so one instance never holds up another', () => {
    const all = [
      ...Array.from({ length: 6 }, (_, i) => candidate(i + 1, { host: 'a.example', lastSyncedAt: hoursAgo(10) })),
      ...Array.from({ length: 2 }, (_, i) => candidate(i + 11, { host: 'b.example' })),
    ];
    expect(planRun(all, { maxRps: 0, budgetSeconds: 3600 }).sync.map((c) => c.host)).toEqual([
      'a.example',
      'b.example',
      'a.example',
      'b.example',
      'a.example',
      'a.example',
      'a.example',
      'a.example',
    ]);
    expect(interleaveByHost([])).toEqual([]);
  });
});

describe('scheduleIntervalSeconds', () => {
  it.each([
    ['rate(1 hour)', 3600],
    ['rate(30 minutes)', 1800],
    ['rate(2 hours)', 7200],
    ['rate(1 day)', 86_400],
    ['cron(0 * * * ? *)', 3600],
    ['cron(0/15 * * * ? *)', 900],
    ['cron(0,30 * * * ? *)', 1800],
    ['cron(0 */2 * * ? *)', 7200],
    ['cron(5 8 * * ? *)', 86_400],
    ['cron(0 9-17 * * MON-FRI *)', undefined],
  ])('%s: %s s', (expression, seconds) => {
    expect(scheduleIntervalSeconds(expression)).toBe(seconds);
  });
});
