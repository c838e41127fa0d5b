import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { writeLocalSecrets } from '../../../local/secrets-file';
import { monotonicNowMs } from '../../../sim/request-log';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { type CliResult, startCli } from '../../helpers/cli';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { tempDir } from '../../helpers/cleanup';

/*
 * How a local run stops and how it meets another: the real CLI in its own process, a real
 * Postgres, the simulator. For Ctrl-C the simulator runs in this process, its workspaces
 * registered as real ones, so its request log (one clock with this process) shows whether
 * anything reached "EmailBison" after the run said it had stopped.
 */
const TOTAL = 4228;
/** The last line of `run`'s report (cli/run-outcome.ts outcomeLine) for a stopped run. */
const SUMMARY_LAST_LINE = /^failed: The execution ended ABORTED: Interrupted/;
/** A progress line (cli/progress.ts eventLine, off a terminal): a workspace done. */
const WORKSPACE_SYNCED = /: synced [\d,]+ accounts?/;

/** Every line a child printed, with when it arrived here (the request log's clock). */
interface Line {
  stream: 'stdout' | 'stderr';
  text: string;
  atMs: number;
}

function watch(child: ChildProcess): { lines: Line[]; waitFor(pattern: RegExp, timeoutMs?: number): Promise<Line> } {
  const lines: Line[] = [];
  const waiting: { pattern: RegExp; resolve: (line: Line) => void }[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[stream]?.on('data', (chunk: Buffer) => {
      const atMs = monotonicNowMs();
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) {
        const line = { stream, text, atMs };
        lines.push(line);
        for (const w of waiting.filter((w) => w.pattern.test(text))) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
  }
  return {
    lines,
    waitFor(pattern, timeoutMs = 60_000) {
      const seen = lines.find((line) => pattern.test(line.text));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.push({ pattern, resolve });
        setTimeout(
          () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.map((l) => l.text).join('\n')}`)),
          timeoutMs,
        ).unref();
      });
    },
  };
}

describe('Ctrl-C during a run', () => {
  let db: TestDatabase;
  let sim: EmailBisonSim;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Slow enough that the run takes many seconds (26 workspaces, 3 at a time).
    sim = await startEmailBisonSim({ scenario: 'seed-2025', latencyMs: 150 });
    const secretsFile = path.join(tempDir('ss-stops-'), 'secrets.json');
    env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
    await writeLocalSecrets(secretsFile, Object.fromEntries(sim.workspaces().map((w) => [`key:${w.name}`, w.apiKey])));
    for (const w of sim.workspaces()) {
      await upsertWorkspace(db.sql, { name: w.name, baseUrl: sim.url, apiKeyRef: `file:key:${w.name}`, emailbisonWorkspaceId: w.id });
    }
  });
  afterAll(() => sim?.close());

  async function interrupt(
    signal: 'SIGINT' | 'SIGTERM',
  ): Promise<{ result: CliResult; lines: Line[]; signalledAtMs: number; summary: Line }> {
    await db.sql`update polling_job_status set status = 'failed' where status = 'running'`;
    sim.clearRequestLog();
    const { child, result } = startCli(['run'], env);
    const output = watch(child);
    // A workspace done and others in flight: mid-run.
    await output.waitFor(WORKSPACE_SYNCED);
    const signalledAtMs = monotonicNowMs();
    child.kill(signal);
    const summary = await output.waitFor(SUMMARY_LAST_LINE);
    return { result: await result, lines: output.lines, signalledAtMs, summary };
  }

  it('exits 130 at once, prints nothing after the summary, sends nothing after it, and marks the job failed: interrupted by Ctrl-C', async () => {
    const { result, lines, signalledAtMs, summary } = await interrupt('SIGINT');
    expect(result.code).toBe(130);
    // Promptly: the requests in flight are aborted, not waited out (each takes 150 ms; a workspace, seconds).
    expect(summary.atMs - signalledAtMs).toBeLessThan(5_000);
    // The summary is the last thing printed, on either stream.
    expect(lines.at(-1)).toBe(summary);
    expect(lines.filter((line) => line.atMs > summary.atMs)).toEqual([]);
    expect(result.stdout + result.stderr).not.toMatch(/CONNECTION_ENDED|time budget reached/);
    expect(result.stderr).toContain('Ctrl-C: stopping the run and marking its job failed');
    // Nothing reached the instance after the run said it had stopped.
    const requests = sim.requestLog();
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.atMs > summary.atMs)).toEqual([]);
    // Every request the stop found in flight was cut or answered before the summary.
    expect(requests.filter((r) => (r.endedAtMs ?? 0) > summary.atMs)).toEqual([]);
    // Nor after the stop itself: the CLI prints its note as it aborts (a margin for two pipes read by one event loop).
    const note = lines.find((line) => line.text.startsWith('Ctrl-C: stopping'));
    expect(requests.filter((r) => r.atMs > (note?.atMs ?? 0) + 500)).toEqual([]);

    const [job] = await db.sql`select status, error_message from polling_job_status order by started_at desc limit 1`;
    expect(job.status).toBe('failed');
    expect(job.error_message).toMatch(/ABORTED: Interrupted \(stopped by Ctrl-C \(SIGINT\)\)/);
    expect(await db.sql`select count(*)::int as n from polling_job_workspaces where status = 'running'`).toEqual([{ n: 0 }]);
    // The calls the stop cut short ended before the summary: each gave its workspace's lease back.
    expect(await db.sql`select count(*)::int as n from polling_job_workspaces where lease_id is not null`).toEqual([{ n: 0 }]);
  }, 120_000);

  it('names SIGTERM, not Ctrl-C, when a SIGTERM stopped it', async () => {
    const { result, summary, lines } = await interrupt('SIGTERM');
    expect(result.code).toBe(130);
    expect(lines.at(-1)).toBe(summary);
    expect(result.stderr).toContain('SIGTERM: stopping the run and marking its job failed');
    expect(result.stdout + result.stderr).not.toContain('Ctrl-C');
    const [job] = await db.sql`select status, error_message from polling_job_status order by started_at desc limit 1`;
    expect(job.status).toBe('failed');
    expect(job.error_message).toContain('Interrupted (stopped by SIGTERM)');
    expect(job.error_message).not.toContain('Ctrl-C');
  }, 120_000);
});

describe('a second run while one runs', () => {
  it('exits 4 and changes nothing; the first ends completed with every account', async () => {
    const db = await createTestDatabase();
    const secretsFile = path.join(tempDir('ss-collide-'), 'secrets.json');
    const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
    // No workspace registered: each run would start (and register) a simulator of its own.
    // Slow enough that the first is still running when the second has started up and given up.
    const first = startCli(['run', '--sim-port', '0', '--latency-ms', '300'], env);
    // The first has registered its simulator's workspaces and started its job.
    const deadline = Date.now() + 60_000;
    while ((await db.sql`select 1 from polling_job_status`).length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // What registering a simulator writes (the first run itself records bindings and pagination modes).
    const registration = () => db.sql`select id, name, base_url, api_key_ref, emailbison_workspace_id, active from workspaces order by id`;
    const registry = await registration();
    expect(registry).toHaveLength(26);
    const secrets = readFileSync(secretsFile);
    const jobs = await db.sql`select id, status from polling_job_status order by started_at`;
    expect(jobs).toHaveLength(1);

    const second = await startCli(['run', '--sim-port', '0'], env).result;
    expect(first.child.exitCode).toBeNull(); // the first was running all along
    expect(second.code).toBe(4);
    expect(second.stdout).toContain(`Another run is in progress (job ${jobs[0].id}): nothing started, nothing changed.`);
    expect(second.stdout).not.toContain('simulated EmailBison API');
    expect(await registration()).toEqual(registry);
    expect(readFileSync(secretsFile)).toEqual(secrets);
    expect(await db.sql`select id, status from polling_job_status order by started_at`).toEqual(jobs);

    const result = await first.result;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/status\s+completed/);
    const [job] = await db.sql`select status, total_accounts_synced, workspaces_failed from polling_job_status where id = ${jobs[0].id}`;
    expect(job).toEqual({ status: 'completed', total_accounts_synced: TOTAL, workspaces_failed: 0 });
  }, 180_000);
});
