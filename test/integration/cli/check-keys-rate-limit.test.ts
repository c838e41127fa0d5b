import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerSimulatorWorkspaces } from '../../../local/simulator-workspaces';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { cli } from '../../helpers/cli';
import { tempDir } from '../../helpers/cleanup';
import { createTestDatabase } from '../../helpers/database';

/*
 * `check-keys` against a throttling instance (the simulator's fixed-window limiter, as
 * `--sim-rate` sets it): it retries as the sync does, honouring Retry-After, and a key
 * still throttled after every attempt is RATE LIMITED (exit 75), never UNREACHABLE.
 */
const db = await createTestDatabase();
const secretsFile = path.join(tempDir('ss-check-rate-'), 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
let sim: EmailBisonSim;

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'grid:8:20' });
  await registerSimulatorWorkspaces(db.sql, sim, { secretsFile });
});
afterAll(() => sim.close());
beforeEach(() => sim.clearRequestLog());

describe('check-keys on a throttling instance', () => {
  it('retries past the 429s, honouring Retry-After, and says OK for every key', async () => {
    // 16 requests (page 1 and GET /api/users per key), 4 at a time, against 3 a second.
    sim.setRateLimit({ requests: 3, windowSeconds: 1 });
    const result = await cli(['check-keys'], env);
    sim.setRateLimit(undefined);
    const throttled = sim.requestLog().filter((r) => r.rateLimited);
    expect(throttled.length).toBeGreaterThan(0);
    expect(result.stdout).not.toMatch(/UNREACHABLE|RATE LIMITED/);
    expect(result.stdout).toContain('8 of 8 keys OK');
    expect(result.code).toBe(0);
  }, 120_000);

  it('keeps trying a key answered 429 three times in a row, as the sync would (six attempts), and says OK', async () => {
    sim.setFaults('*', { failFromPage: { page: 1, status: 429, times: 3 } });
    const result = await cli(['check-keys'], env);
    sim.clearFaults();
    expect(sim.requestLog().filter((r) => r.path === '/api/sender-emails' && r.status === 429)).toHaveLength(3 * 8);
    expect(result.stdout).not.toMatch(/UNREACHABLE|RATE LIMITED/);
    expect(result.stdout).toContain('8 of 8 keys OK');
    expect(result.code).toBe(0);
  }, 120_000);

  it('reports a key still throttled after every attempt as RATE LIMITED and exits 75, saying where it cut a detail', async () => {
    // One request a minute, two attempts, waits capped at 50 ms: the limit outlasts the retries.
    sim.setRateLimit({ requests: 1, windowSeconds: 60 });
    const result = await cli(['check-keys'], { ...env, EMAILBISON_MAX_ATTEMPTS: '2', EMAILBISON_MAX_RETRY_WAIT_MS: '50' });
    sim.setRateLimit(undefined);
    expect(result.stdout).not.toContain('UNREACHABLE');
    expect(result.stdout.match(/RATE LIMITED/g)).toHaveLength(8);
    expect(result.stdout).toContain('0 of 8 keys OK');
    expect(result.stdout).toContain('8 not checked: EmailBison still answered 429 (rate limited) after 2 attempts');
    // A long cause is cut in the table with a mark, and printed whole under it.
    expect(result.stdout).toContain('…(truncated, whole below)');
    expect(result.stdout).toMatch(/details in full:\n(.|\n)*after 2 attempt\(s\); last failure: HTTP 429 \(rate limited\)/);
    for (const w of sim.workspaces()) expect(result.stdout + result.stderr).not.toContain(w.apiKey);
    expect(result.code).toBe(75);
  }, 120_000);
});
