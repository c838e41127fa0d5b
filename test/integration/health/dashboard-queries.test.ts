import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHealth } from '../../../lambdas/health/summary';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { createTestDatabase } from '../../helpers/database';
import { insertAccounts, insertWarmupRows, utcDay } from '../../helpers/warmup-rows';

/*
 * The warmup and capacity dashboard queries of docs/webhooks.md, read from the page as it is
 * and run on rows made here: what a reader copies works, and says what `health` says.
 */
const PAGE = readFileSync(path.resolve(import.meta.dirname, '../../../docs/webhooks.md'), 'utf8');

function dashboardQuery(name: string): string {
  const match = new RegExp(`<!-- dashboard query: ${name} -->\\s*\`\`\`sql\\n([\\s\\S]*?)\`\`\``).exec(PAGE);
  if (!match) throw new Error(`docs/webhooks.md has no dashboard query "${name}"`);
  return match[1];
}

const db = await createTestDatabase();
const north = await upsertWorkspace(db.sql, { name: 'North', baseUrl: 'https://north.example.com', apiKeyRef: 'env:NORTH_KEY' });
const south = await upsertWorkspace(db.sql, { name: 'South', baseUrl: 'https://south.example.com', apiKeyRef: 'env:SOUTH_KEY' });
await upsertWorkspace(db.sql, { name: 'Empty', baseUrl: 'https://empty.example.com', apiKeyRef: 'env:EMPTY_KEY' });
await insertAccounts(db.sql, north.id, [
  { emailbisonId: 1, email: 'a@north.example.com', dailyLimit: 40, warmupEnabled: false },
  { emailbisonId: 2, email: 'b@north.example.com', dailyLimit: 25, warmupEnabled: true },
  { emailbisonId: 3, email: 'c@north.example.com', status: 'Not connected', dailyLimit: 50, warmupEnabled: false },
]);
await insertAccounts(db.sql, south.id, [{ emailbisonId: 4, email: 'd@south.example.com', dailyLimit: 30, warmupEnabled: null }]);
await insertWarmupRows(db.sql, north.id, [
  { emailbisonId: 1, day: utcDay(-40), score: 10 }, // before the 30 days
  { emailbisonId: 1, day: utcDay(-1), score: 90 },
  { emailbisonId: 2, day: utcDay(-1), score: 40, disabledForBouncing: 1 },
  { emailbisonId: 1, day: utcDay(0), score: 80 },
]);

describe('the warmup and capacity dashboard queries (docs/webhooks.md)', () => {
  it('warmup score over 30 days: per workspace and day, the days before left out', async () => {
    const rows = await db.sql.unsafe(dashboardQuery('warmup-score-30d'));
    expect(
      rows.map((r) => [
        r.workspace,
        String(r.day instanceof Date ? r.day.toISOString().slice(0, 10) : r.day),
        Number(r.average_score),
        r.median_score,
        Number(r.accounts_scored),
        Number(r.under_50),
        Number(r.disabled_for_bouncing),
      ]),
    ).toEqual([
      ['North', utcDay(-1), 65, 65, 2, 1, 1],
      ['North', utcDay(0), 80, 80, 1, 0, 0],
    ]);
  });

  it('capacity per workspace: what `sender-sync health` reports', async () => {
    const rows = await db.sql.unsafe(dashboardQuery('capacity-per-workspace'));
    const health = await readHealth(
      db.sql,
      [north, south].map(({ id, name }) => ({ id, name })),
      { dropPoints: 10, floor: 50 },
    );
    expect(
      rows.map((r) => [r.workspace, Number(r.connected), Number(r.disconnected), Number(r.capacity_ready), Number(r.capacity_connected)]),
    ).toEqual([
      ['Empty', 0, 0, 0, 0],
      ...health.workspaces.map((w) => [w.workspace, w.connected, w.disconnected, w.capacity.ready, w.capacity.connected]),
    ]);
    expect(health.workspaces.map((w) => w.capacity)).toEqual([
      { ready: 40, connected: 65 },
      { ready: 30, connected: 30 },
    ]);
  });
});
