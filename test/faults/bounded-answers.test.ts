import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmailBisonSim, startEmailBisonSim } from '../../sim/server';

/*
 * Answers that never end (issue 22 item 2), measured where they would hurt: the walk runs in a
 * child process and reports its peak RSS. Before the cap an endless 200 held 0.6 GB after 5 s
 * and 23 GB before the kernel killed it; the sync Lambda has 1,024 MB. The pipeline side (the
 * workspace fails, the others complete) is in emailbison-scenarios.ts.
 */
const CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), 'read-answer-child.ts');
const WS = 'Kestrel Ventures';
/** Far inside the Lambda's 1,024 MB; a Node process with tsx starts at about 100 MB. */
const MAX_PEAK_RSS_MB = 300;

let sim: EmailBisonSim;
beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'seed-2025' });
});
afterAll(() => sim.close());

async function readInChild(options: Record<string, unknown>) {
  const apiKey = sim.workspaces().find((w) => w.name === WS)!.apiKey;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, sim.url, apiKey, JSON.stringify(options)], {
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    name?: string;
    code?: string;
    message?: string;
    elapsedMs: number;
    peakRssMb: number;
  };
}

describe('an answer that never ends, read in a process of its own', () => {
  it('an endless 200 body: abandoned at 8 MiB (the default cap) with ResponseTooLargeError, peak RSS far under 300 MB', async () => {
    sim.setFaults(WS, { endlessBody: true });
    const result = await readInChild({ maxAttempts: 1 });
    expect(result).toMatchObject({ name: 'ResponseTooLargeError', code: 'SS_EMAILBISON_RESPONSE_TOO_LARGE' });
    expect(result.message).toContain(`(page 1) for workspace "${WS}" (HTTP 200) went past 8 MiB (EMAILBISON_MAX_RESPONSE_BYTES)`);
    expect(result.peakRssMb, `peak RSS ${result.peakRssMb} MB`).toBeLessThan(MAX_PEAK_RSS_MB);
    expect(result.elapsedMs).toBeLessThan(20_000);
    console.log(`endless body: ${result.name} after ${result.elapsedMs} ms, peak RSS ${result.peakRssMb} MB`);
  });

  it('a body trickling just under the idle timeout: ended by the request time cap with ResponseTimeoutError, within it', async () => {
    // One byte every 700 ms never lets the 1 s body timeout fire: only the 3 s request cap ends it.
    sim.setFaults(WS, { trickleBodyMs: 700 });
    const result = await readInChild({ maxAttempts: 1, bodyTimeoutMs: 1_000, requestTimeoutMs: 3_000 });
    expect(result).toMatchObject({ name: 'ResponseTimeoutError', code: 'SS_EMAILBISON_RESPONSE_TIMEOUT' });
    expect(result.message).toMatch(
      new RegExp(`\\(page 1\\) for workspace "${WS}" did not end within 3000 ms \\(EMAILBISON_REQUEST_TIMEOUT_MS; \\d+ bytes read\\)`),
    );
    expect(result.elapsedMs).toBeGreaterThanOrEqual(3_000);
    expect(result.elapsedMs).toBeLessThan(3_000 + 2_000);
    expect(result.peakRssMb, `peak RSS ${result.peakRssMb} MB`).toBeLessThan(MAX_PEAK_RSS_MB);
    console.log(`trickling body: ${result.name} after ${result.elapsedMs} ms, peak RSS ${result.peakRssMb} MB`);
  });

  it('a raised cap still bounds it: 32 MiB read and abandoned, memory following the cap, not the stream', async () => {
    sim.setFaults(WS, { endlessBody: true });
    const result = await readInChild({ maxAttempts: 1, maxResponseBytes: 32 * 1024 * 1024 });
    expect(result).toMatchObject({ code: 'SS_EMAILBISON_RESPONSE_TOO_LARGE' });
    expect(result.message).toContain('went past 32 MiB');
    expect(result.peakRssMb, `peak RSS ${result.peakRssMb} MB`).toBeLessThan(MAX_PEAK_RSS_MB);
    console.log(`endless body, 32 MiB cap: after ${result.elapsedMs} ms, peak RSS ${result.peakRssMb} MB`);
  });
});
