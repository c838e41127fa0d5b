import { afterAll, describe, expect, it } from 'vitest';
import type { RawWarmupItem } from '../../../sim/warmup';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { runLocally } from '../../helpers/local-run';
import { createWorld } from '../../helpers/world';

/*
 * Issue 24's first must-show, its health part: a sync and warmup passes against the
 * simulator through the real state-machine definition (local runner, real handlers, real
 * Postgres); the simulator's hook makes a score drop for the next day; the drop appears in
 * the digest Finalize job publishes and in `sender-sync health` (the bundle). A second pass
 * the same day judges only the row it rewrote.
 */
const db = await createTestDatabase();
const WORKSPACES = ['Juniper Health', 'Kestrel Ventures'];
const world = await createWorld(db.sql, { scenario: 'seed-2025', only: WORKSPACES });
afterAll(() => world.sim.close());
const published: { subject: string; message: string }[] = [];
const deps = { ...world.deps, changes: { publish: async (message: { subject: string; message: string }) => void published.push(message) } };
const DAY_BEFORE = '2026-12-03';
const DAY = '2026-12-04';
const THRESHOLDS = { dropPoints: world.deps.config.warmupScoreDropPoints, floor: world.deps.config.warmupScoreFloor };

/** What the digest should count for a day, from the simulator's own figures of the day and the day before. */
function expectedAlerts(): number {
  let alerts = 0;
  for (const name of WORKSPACES) {
    const before = new Map(world.sim.warmupTruth(name, DAY_BEFORE).map((item) => [item.id, item]));
    for (const item of world.sim.warmupTruth(name, DAY)) {
      const prev = before.get(item.id) as RawWarmupItem;
      const dropped = prev.warmup_score - item.warmup_score >= THRESHOLDS.dropPoints;
      const underFloor = item.warmup_score < THRESHOLDS.floor && prev.warmup_score >= THRESHOLDS.floor;
      const bounced = item.warmup_disabled_for_bouncing_count > prev.warmup_disabled_for_bouncing_count;
      if (dropped || underFloor || bounced) alerts++;
    }
  }
  return alerts;
}

describe('a score drop, from the simulator to the digest and `health`', () => {
  const ws = 'Juniper Health';
  const accounts = world.sim.truth(ws);
  const before = world.sim.warmupTruth(ws, DAY_BEFORE);
  // An account scoring 60 or more the day before: falling to 5 is a drop and a crossing of the floor.
  const target = accounts.find((a) => a.status === 'Connected' && before.find((i) => i.id === a.id)!.warmup_score >= 60)!;
  const previous = before.find((i) => i.id === target.id)!.warmup_score;

  it('is named in the warmup pass digest of the next day, among exactly the alerts the simulator’s figures imply', async () => {
    expect((await runLocally(deps, {})).output).toMatchObject({ status: 'completed' });
    expect((await runLocally(deps, { mode: 'warmup', day: DAY_BEFORE })).status).toBe('SUCCEEDED');
    world.sim.setWarmup(target.id, DAY, { warmup_score: 5 });
    published.length = 0;
    const pass = await runLocally(deps, { mode: 'warmup', day: DAY });
    expect(pass.status).toBe('SUCCEEDED');
    expect(published).toHaveLength(1);
    const [{ subject, message }] = published;
    const expected = expectedAlerts();
    expect(subject).toBe(
      `sender-sync: ${expected} warmup ${expected === 1 ? 'alert' : 'alerts'}, 0 disconnected, 0 removed, 0 reconnected, 0 added`,
    );
    expect(message.split('\n')[0]).toMatch(
      new RegExp(`^Warmup health of ${DAY} \\(job [0-9a-f-]{36}, ${world.deps.config.jobName}-warmup\\):$`),
    );
    const lines = message.split('\n');
    const heading = lines.findIndex((line) => line.startsWith(`${ws}: warmup health, `));
    // Lowest score first: the account that fell to 5 opens its workspace's list.
    expect(lines[heading + 1]).toBe(`  ${target.email}: score ${previous} → 5 (-${previous - 5}), under 50`);
  }, 120_000);

  it('is among the alerts and the worst accounts `sender-sync health` shows', async () => {
    const result = await cli(['health', '--json', '--workspaces', ws], { DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    const [health] = JSON.parse(result.stdout).workspaces;
    expect(health).toMatchObject({ workspace: ws, warmup_day: DAY });
    expect(health.alerts[0]).toMatchObject({
      emailbison_id: target.id,
      email: target.email,
      day: DAY,
      previous_day: DAY_BEFORE,
      previous_score: previous,
      score: 5,
      dropped: true,
      under_floor: true,
    });
    expect(health.worst[0]).toMatchObject({ emailbison_id: target.id, score: 5 });
    const text = await cli(['health', '--workspaces', ws], { DATABASE_URL: db.url });
    expect(text.stdout).toContain(`    ${target.email}: score ${previous} → 5 (-${previous - 5}), under 50`);
  });

  it('a second pass the same day names only the row it rewrote', async () => {
    world.sim.setWarmup(target.id, DAY, { warmup_score: 3 });
    published.length = 0;
    expect((await runLocally(deps, { mode: 'warmup', day: DAY })).status).toBe('SUCCEEDED');
    expect(published.map((p) => p.subject)).toEqual(['sender-sync: 1 warmup alert, 0 disconnected, 0 removed, 0 reconnected, 0 added']);
    expect(published[0].message.split('\n').slice(2)).toEqual([
      `${ws}: warmup health, 1 account (down 10+ points since the previous day, under 50, or disabled for bouncing)`,
      `  ${target.email}: score ${previous} → 3 (-${previous - 3}), under 50`,
    ]);
  }, 120_000);
});
