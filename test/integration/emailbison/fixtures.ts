import { inspect } from 'node:util';
import {
  createEmailBisonClient,
  type EmailBisonClient,
  type EmailBisonClientOptions,
  type ListOptions,
  type SenderEmailPage,
  type WalkRestart,
} from '../../../lambdas/emailbison/client';
import { closeSharedDispatchers } from '../../../lambdas/emailbison/dispatcher';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { afterAll, afterEach } from 'vitest';

/**
 * The seed-2025 simulator for one test file: faults, latency and counters are reset
 * after each test; the simulator and the shared HTTP pools are closed after the file.
 */
export async function seedSim(): Promise<EmailBisonSim> {
  const sim = await startEmailBisonSim({ scenario: 'seed-2025' });
  afterEach(() => {
    sim.clearFaults();
    sim.setLatency(0);
    sim.resetCounters();
  });
  afterAll(async () => {
    await sim.close();
    await closeSharedDispatchers();
  });
  return sim;
}

/** Waits a hundredth of what is asked: Retry-After 1 s becomes 10 ms. */
export function scaledSleep(factor = 0.01) {
  return (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      signal?.throwIfAborted();
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms * factor);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
}

export function simClient(sim: EmailBisonSim, workspace: string, overrides: Partial<EmailBisonClientOptions> = {}): EmailBisonClient {
  const found = sim.workspaces().find((candidate) => candidate.name === workspace);
  if (!found) throw new Error(`no workspace ${workspace} in the sim`);
  return createEmailBisonClient({
    workspace,
    baseUrl: sim.url,
    apiKey: found.apiKey,
    baseBackoffMs: 100,
    headersTimeoutMs: 2_000,
    bodyTimeoutMs: 2_000,
    sleep: scaledSleep(),
    ...overrides,
  });
}

export function keyOf(sim: EmailBisonSim, workspace: string): string {
  return sim.workspaces().find((candidate) => candidate.name === workspace)!.apiKey;
}

/** Reads every page; on failure, returns what arrived before it with the error. */
export async function readAll(client: EmailBisonClient, options: ListOptions = {}) {
  const pages: SenderEmailPage[] = [];
  const restarts: WalkRestart[] = [];
  let error: unknown;
  try {
    for await (const step of client.listSenderEmails(options)) {
      if (step.kind === 'page') pages.push(step);
      else restarts.push(step);
    }
  } catch (caught) {
    error = caught;
  }
  const ids = pages.flatMap((page) => page.items.map((item) => item.id));
  return { pages, ids, restarts, error };
}

export function idsOf(accounts: { id: number }[]): number[] {
  return accounts.map((account) => account.id);
}

export function sorted(ids: number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

/** Every way an error can be shown: message, stack, cause chain, JSON. */
export function everyRendering(error: unknown): string {
  return [String(error), (error as Error)?.stack ?? '', inspect(error, { depth: Infinity }), JSON.stringify(error)].join('\n');
}
