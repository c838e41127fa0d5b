import { describe, expect, it } from 'vitest';
import { type CliResult, startCli } from '../../helpers/cli';
import { alive, freshEmbeddedDir } from '../../helpers/embedded-dir';

/*
 * Two `npm start` launched at the same instant on a project that has never run: both race
 * to create and start the embedded Postgres, to bind the simulator's port (4010, or any when
 * it is taken) and to take the run's lease. Each pair must give one completed run and one
 * exit 4, nothing else. Ten pairs, one after the other, each on a fresh directory (so the
 * race includes initdb); slow, about 10 s a pair.
 */
const PAIRS = 10;
const ALREADY_RUNNING = /^Another run is in progress \((job [0-9a-f-]{36}|a local run starting)\): nothing started, nothing changed\.$/m;

async function pair(env: Record<string, string>): Promise<CliResult[]> {
  return Promise.all([startCli(['run'], env).result, startCli(['run'], env).result]);
}

describe('two npm start at the same instant', () => {
  it(`give one completed run and one exit 4, in ${PAIRS} of ${PAIRS} pairs, and leave no server running`, async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const state = freshEmbeddedDir('ss-same-instant-');
      const results = await pair(state.env);
      const completed = results.filter((r) => r.code === 0 && /^completed: 26 of 26 workspaces/m.test(r.stdout));
      const refused = results.filter((r) => r.code === 4 && ALREADY_RUNNING.test(r.stdout));
      const ok = completed.length === 1 && refused.length === 1;
      outcomes.push(
        ok ? 'ok' : results.map((r) => `exit ${r.code}: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' | ')}`).join(' || '),
      );
      // The last user of the server stopped it.
      const pid = state.serverPid();
      expect(pid === undefined || !alive(pid)).toBe(true);
    }
    expect(outcomes).toEqual(Array(PAIRS).fill('ok'));
  }, 900_000);
});
