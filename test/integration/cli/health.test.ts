import { describe, expect, it } from 'vitest';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { insertAccounts, insertWarmupRows, utcDay } from '../../helpers/warmup-rows';

/*
 * Issue 24 item 2: `sender-sync health`, from the bundle, on a database holding accounts and
 * two days of warmup rows. Its capacity is checked against the sum computed in SQL from
 * sender_emails; a score drop past the threshold is among its alerts.
 */
const db = await createTestDatabase();
const env = { DATABASE_URL: db.url };
const YESTERDAY = utcDay(-1);
const TODAY = utcDay(0);

const acme = await upsertWorkspace(db.sql, { name: 'Acme Outbound', baseUrl: 'http://127.0.0.1:9', apiKeyRef: 'env:UNUSED' });
const juniper = await upsertWorkspace(db.sql, { name: 'Juniper Health', baseUrl: 'http://127.0.0.1:9', apiKeyRef: 'env:UNUSED' });
await upsertWorkspace(db.sql, { name: 'Dormant Co', baseUrl: 'http://127.0.0.1:9', apiKeyRef: 'env:UNUSED', active: false });
await insertAccounts(db.sql, acme.id, [
  { emailbisonId: 1, email: 'ready@acme.test', dailyLimit: 40, warmupEnabled: false },
  { emailbisonId: 2, email: 'warming@acme.test', dailyLimit: 25, warmupEnabled: true },
  { emailbisonId: 3, email: 'unknown-warmup@acme.test', dailyLimit: 10, warmupEnabled: null },
  { emailbisonId: 4, email: 'down@acme.test', status: 'Not connected', dailyLimit: 50, warmupEnabled: false },
  { emailbisonId: 5, email: 'evil\u001b[2J\u202e@acme.test', dailyLimit: null, warmupEnabled: true },
]);
await insertAccounts(db.sql, juniper.id, [
  { emailbisonId: 11, email: 'a@juniper.test', dailyLimit: 30, warmupEnabled: false },
  { emailbisonId: 12, email: 'b@juniper.test', status: 'connected', dailyLimit: 35, warmupEnabled: true },
]);
// A removed account counts nowhere.
await insertAccounts(db.sql, juniper.id, [{ emailbisonId: 13, email: 'gone@juniper.test', dailyLimit: 99, warmupEnabled: false }]);
await db.sql`update sender_emails set deleted_at = now() where emailbison_id = 13`;
await insertWarmupRows(db.sql, acme.id, [
  { emailbisonId: 1, day: YESTERDAY, score: 95 },
  { emailbisonId: 2, day: YESTERDAY, score: 88 },
  { emailbisonId: 5, day: YESTERDAY, score: 60 },
  { emailbisonId: 1, day: TODAY, score: 94 },
  { emailbisonId: 2, day: TODAY, score: 61.5 }, // down 26.5
  { emailbisonId: 3, day: TODAY, score: 70 },
  { emailbisonId: 5, day: TODAY, score: 12, disabledForBouncing: 1 },
]);
await insertWarmupRows(db.sql, juniper.id, [
  { emailbisonId: 11, day: YESTERDAY, score: 77 },
  { emailbisonId: 12, day: YESTERDAY, score: 81 },
]);

/** Capacity as SQL sums it from the accounts: over connected live accounts, and those of them with warmup not on. */
async function capacityInSql(workspaceId?: number) {
  const [row] = await db.sql<{ ready: number; connected: number }[]>`
    select coalesce(sum(daily_limit) filter (where warmup_enabled is not true), 0)::int as ready,
           coalesce(sum(daily_limit), 0)::int as connected
    from sender_emails
    where deleted_at is null and lower(status) = 'connected'
      and ${workspaceId === undefined ? db.sql`workspace_id in (select id from workspaces where active)` : db.sql`workspace_id = ${workspaceId}`}
  `;
  return row;
}

describe('sender-sync health', () => {
  it('--json parses, and its capacity equals the sum computed in SQL from the accounts', async () => {
    const result = await cli(['health', '--json'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`database: 127.0.0.1:5432/${db.name}\n`);
    const report = JSON.parse(result.stdout);
    expect(report.workspaces.map((w: { workspace: string }) => w.workspace)).toEqual(['Acme Outbound', 'Juniper Health']);
    const [acmeHealth, juniperHealth] = report.workspaces;
    expect(acmeHealth.capacity).toEqual(await capacityInSql(acme.id));
    expect(juniperHealth.capacity).toEqual(await capacityInSql(juniper.id));
    expect(report.totals.capacity).toEqual(await capacityInSql());
    expect(report.totals.capacity).toEqual({ ready: 40 + 10 + 30, connected: 40 + 25 + 10 + 30 + 35 });
    expect(acmeHealth).toMatchObject({
      connected: 4,
      disconnected: 1,
      warmup_disabled: 2,
      disabled_for_bouncing: 1,
      warmup_day: TODAY,
      median_score: 65.75,
    });
    expect(juniperHealth).toMatchObject({ connected: 2, disconnected: 0, warmup_day: YESTERDAY, median_score: 79, alerts: [] });
    expect(acmeHealth.worst.map((a: { score: number }) => a.score)).toEqual([12, 61.5, 70, 94]);
  });

  it('lists a score drop past the threshold, a crossing of the floor and a bounce disablement among the alerts', async () => {
    const report = JSON.parse((await cli(['health', '--json', '--workspaces', 'Acme Outbound'], env)).stdout);
    expect(report.thresholds).toEqual({ drop_points: 10, floor: 50 });
    expect(
      report.workspaces[0].alerts.map((a: Record<string, unknown>) => [
        a.emailbison_id,
        a.previous_score,
        a.score,
        a.dropped,
        a.under_floor,
        a.disabled_for_bouncing,
      ]),
    ).toEqual([
      [5, 60, 12, true, true, true],
      [2, 88, 61.5, true, false, false],
    ]);
    // A higher threshold (WARMUP_SCORE_DROP_POINTS) leaves the 26.5-point drop out.
    const strict = JSON.parse(
      (await cli(['health', '--json', '--workspaces', 'Acme Outbound'], { ...env, WARMUP_SCORE_DROP_POINTS: '30' })).stdout,
    );
    expect(strict.workspaces[0].alerts.map((a: { emailbison_id: number }) => a.emailbison_id)).toEqual([5]);
  });

  it('prints a table and each alert, with control and bidirectional characters escaped', async () => {
    const result = await cli(['health'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^workspace\s+connected\s+disconnected\s+warmup off\s+bounce-disabled\s+capacity ready\s+capacity connected/,
    );
    expect(result.stdout).toMatch(/\nAcme Outbound\s+4\s+1\s+2\s+1\s+50\s+75\s+65\.75\s+\d{4}-\d{2}-\d{2}\n/);
    expect(result.stdout).toContain('    warming@acme.test: score 88 → 61.5 (-26.5)');
    expect(result.stdout).toContain('evil\\x1b[2J\\u202e@acme.test: score 60 → 12 (-48), under 50, warmup disabled for bouncing');
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).not.toContain('\u202e');
  });

  it('names every unknown workspace of --workspaces and exits 64; an inactive one named is shown', async () => {
    const result = await cli(['health', '--workspaces', 'Acme Outbound,Nope Inc,Ghost LLC'], env);
    expect(result.code).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('No workspace named "Nope Inc", "Ghost LLC" is registered');
    const dormant = JSON.parse((await cli(['health', '--json', '--workspaces', 'Dormant Co'], env)).stdout);
    expect(dormant.workspaces).toMatchObject([
      { workspace: 'Dormant Co', connected: 0, capacity: { ready: 0, connected: 0 }, warmup_day: null },
    ]);
  });
});
