import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { cli, startCli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { tempDir } from '../../helpers/cleanup';

/*
 * The CLI as an operator runs it, in its own processes, against a real Postgres and
 * the simulator: `run` (what `npm start` does), then the reports it feeds.
 */
const db = await createTestDatabase();
const secretsFile = path.join(tempDir('ss-cli-'), 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
const TOTAL = 4228;
const REJECTED = 'Juniper Health';
let sim: EmailBisonSim;

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'seed-2025' });
});
afterAll(() => sim.close());

describe('sender-sync run, then the reports', () => {
  it('exits with the partial code and names the workspace whose key was rejected', async () => {
    const result = await cli(['run', '--sim-port', '0', '--sim-reject-key', REJECTED], env);
    expect(result.code).toBe(2);
    // Notes and progress on stderr; stdout keeps the result.
    expect(result.stderr).toContain(
      'No EmailBison workspaces are registered: syncing the simulated EmailBison API (scenario seed-2025, 26 workspaces)',
    );
    // The simulator serves this run alone: no request cap, and the first lines say so.
    const firstLines = result.stderr.split('\n').slice(0, 4).join('\n');
    expect(firstLines).toContain('simulated instance: pagination page; page cap none; rate limit off; /api/users on');
    expect(firstLines).toContain(
      'request cap: off (the built-in simulator is not a shared instance; EMAILBISON_MAX_RPS=3 on a real instance)',
    );
    expect(result.stdout).toMatch(/status\s+partial/);
    expect(result.stdout).toContain(`- ${REJECTED}: failed: RejectedApiKeyError`);
    expect(result.stdout).toMatch(/workspaces_processed\s+25/);
    expect(result.stdout).toMatch(new RegExp(`total_accounts_synced\\s+${TOTAL - 265}`));
    // Progress, from the run's events: a line per workspace as it ends (not a terminal: no bar, no colour).
    expect(result.stderr).toMatch(/^Tidewater Consulting: synced 433 accounts \(\d+ of 26 workspaces\)$/m);
    expect(result.stderr).toMatch(/^Vértice Labs: synced 1 account \(/m);
    expect(result.stderr).toContain(`${REJECTED}: attempt failed: RejectedApiKeyError`);
    expect(result.stderr).toContain(`${REJECTED}: FAILED (RejectedApiKeyError: `);
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stdout).not.toContain('synced 433 accounts');
    expect(result.stdout).not.toContain('\u001b');
    // The last line states the job's outcome, not the state machine's SUCCEEDED.
    const lastLine = result.stdout.trimEnd().split('\n').at(-1);
    expect(lastLine).toBe(`partial: 1 of 26 workspaces failed (${REJECTED}); 3,963 accounts synced`);
    expect(result.stdout).not.toContain('SUCCEEDED');
    // The table sorts names as a person does, not by bytes as the database's C collation would.
    expect(result.stdout.indexOf('São Paulo Growth Partners')).toBeLessThan(result.stdout.indexOf('Summit Peak SaaS'));
  });

  it('refuses a wrong simulator flag with a usage error naming it, before starting anything', async () => {
    const before = await db.sql`select count(*)::int as n from polling_job_status`;
    const result = await cli(['run', '--sim-port', '0', '--sim-pagination', 'sideways'], env);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('--sim-pagination must be one of page, cursor-default, cursor-only, page-only, got "sideways"');
    const rate = await cli(['run', '--sim-port', '0', '--sim-rate', '0'], env);
    expect(rate.code).toBe(64);
    expect(rate.stderr).toContain('--sim-rate must be a whole number >= 1, got "0"');
    expect(await db.sql`select count(*)::int as n from polling_job_status`).toEqual(before);
  });

  it('`missing` lists the rejected workspace with its error and the two empty ones', async () => {
    const result = await cli(['missing', '--json'], env);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout).workspaces;
    expect(rows.map((r: { name: string }) => r.name)).toEqual(['Juniper Health', 'Quantum Leap Coaching', 'Umbra Cybersecurity']);
    expect(rows[0]).toMatchObject({ last_status: 'failed', last_error: expect.stringContaining('RejectedApiKeyError') });
    expect(rows[1]).toMatchObject({ last_status: 'synced', removed_accounts: 0 });
    const human = await cli(['missing'], env);
    expect(human.stdout).toContain('3 active workspaces with no live accounts');
  });

  it('`status` shows the latest job and its workspaces', async () => {
    const result = await cli(['status', '--json'], env);
    const { job, workspaces } = JSON.parse(result.stdout);
    expect(job).toMatchObject({ status: 'partial', total_workspaces: 26, workspaces_processed: 25, workspaces_failed: 1 });
    expect(workspaces).toHaveLength(26);
    expect(workspaces.find((w: { workspace_name: string }) => w.workspace_name === REJECTED)).toMatchObject({
      status: 'failed',
      api_requests: 1,
      retries: 0,
    });
    const human = await cli(['status'], env);
    expect(human.stdout).toMatch(/status\s+partial/);
    expect(human.stdout).toContain('execution status       local run (no AWS execution)');
  });

  it('completes on the next run, every account stored, and `accounts` counts them', async () => {
    const result = await cli(['run', '--sim-port', '0'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/status\s+completed/);
    expect(result.stdout).toMatch(new RegExp(`total_accounts_synced\\s+${TOTAL}`));
    expect(result.stdout).toContain('rows written: 265');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(`completed: 26 of 26 workspaces, 4,228 accounts`);
    const accounts = JSON.parse((await cli(['accounts', '--json'], env)).stdout);
    expect(accounts.totals).toEqual({ workspaces: 26, live: TOTAL, removed: 0 });
    expect(accounts.workspaces).toHaveLength(26);
    const names = accounts.workspaces.map((w: { name: string }) => w.name);
    expect(names.indexOf('São Paulo Growth Partners')).toBe(names.indexOf('Summit Peak SaaS') - 1);
    expect(accounts.workspaces.find((w: { name: string }) => w.name === 'Tidewater Consulting')).toMatchObject({
      live: 433,
      last_status: 'synced',
    });
    const missing = JSON.parse((await cli(['missing', '--json'], env)).stdout).workspaces;
    expect(missing.map((r: { name: string }) => r.name)).toEqual(['Quantum Leap Coaching', 'Umbra Cybersecurity']);
  });

  it('rewrites zero rows on a run with no upstream change', async () => {
    const result = await cli(['run', '--sim-port', '0'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('rows written: 0;');
  });

  it('`check-keys` tries each key once and asks its binding, says OK with totals or REJECTED, and prints no key', async () => {
    // Point the registered workspaces at a running simulator (the run's own has stopped).
    await db.sql`update workspaces set base_url = ${sim.url}`;
    sim.setFaults(REJECTED, { rejectKey: true });
    sim.resetCounters();
    const result = await cli(['check-keys'], env);
    sim.clearFaults();
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/Tidewater Consulting\s+OK\s+433/);
    expect(result.stdout).toMatch(/Juniper Health\s+REJECTED/);
    expect(result.stdout).toContain('25 of 26 keys OK');
    // Page 1 of each workspace, and GET /api/users for each key that was not rejected (its binding).
    const paths = sim.requestLog().map((r) => r.path);
    expect(paths.filter((p) => p === '/api/sender-emails')).toHaveLength(26);
    expect(paths.filter((p) => p === '/api/users')).toHaveLength(25);
    expect(paths).toHaveLength(51);
    const keys = sim.workspaces().map((w) => w.apiKey);
    for (const key of keys) {
      expect(result.stdout + result.stderr).not.toContain(key);
      expect(result.stdout + result.stderr).not.toContain(key.slice(0, 12));
    }
    // The keys live in the secrets file, never in Postgres.
    const stored = JSON.stringify(await db.sql`select * from workspaces`);
    for (const key of keys) expect(stored).not.toContain(key);
    expect(readFileSync(secretsFile, 'utf8')).toContain(keys[0]);
  });

  it('exits 4 and starts nothing while another run holds the lock', async () => {
    await db.sql`insert into polling_job_status (job_name) values ('sender-emails-sync')`;
    const before = await db.sql`select count(*)::int as n from polling_job_status`;
    const result = await cli(['run', '--sim-port', '0'], env);
    expect(result.code).toBe(4);
    expect(result.stdout).toContain('Another run is in progress');
    expect(await db.sql`select count(*)::int as n from polling_job_status`).toEqual(before);
    await db.sql`update polling_job_status set status = 'failed' where status = 'running'`;
  });

  it('stops at Ctrl-C: exits 130, and the job is marked failed, not left running', async () => {
    const { child, result } = startCli(['run', '--sim-port', '0', '--latency-ms', '300'], env);
    const deadline = Date.now() + 30_000;
    let syncing = 0;
    while (syncing === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [{ n: syncing }] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from polling_job_workspaces w join polling_job_status j on j.id = w.job_id
        where j.status = 'running' and w.status = 'running'`;
    }
    expect(syncing).toBeGreaterThan(0);
    child.kill('SIGINT');
    const { code, stdout } = await result;
    expect(code).toBe(130);
    expect(stdout).toMatch(/status\s+failed/);
    const [job] = await db.sql`select status, error_message from polling_job_status order by started_at desc limit 1`;
    expect(job.status).toBe('failed');
    expect(job.error_message).toMatch(/ABORTED.*Interrupted/);
    expect(await db.sql`select count(*)::int as n from polling_job_status where status = 'running'`).toEqual([{ n: 0 }]);
  }, 60_000);
});
