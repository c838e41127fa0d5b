import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { SimCounters, SimRequest as SimLogEntry, SimUnreachable } from '../sim/server';
import type { SimInstanceOptions, SimRequest } from './sim-process';

export interface SimWorkspaceInfo {
  id: number;
  name: string;
  apiKey: string;
  total: number;
}

/** The simulator running in a child process: what the bench needs of EmailBisonSim, over IPC. */
export interface SimChild {
  url: string;
  workspaces(): SimWorkspaceInfo[];
  counters(): Promise<SimCounters>;
  resetCounters(): Promise<void>;
  setLatency(latencyMs: number): Promise<void>;
  /** Every request since the last reset, with arrival times (no key in it). */
  requestLog(): Promise<SimLogEntry[]>;
  setUnreachable(mode: SimUnreachable | false): Promise<void>;
  close(): Promise<void>;
}

const ENTRY = path.join(path.dirname(new URL(import.meta.url).pathname), 'sim-process.ts');

export async function startSimChild(scenario: string, latencyMs: number, instance: SimInstanceOptions = {}): Promise<SimChild> {
  const child = fork(ENTRY, [scenario, String(latencyMs), JSON.stringify(instance)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ url: string; workspaces: SimWorkspaceInfo[] }>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the simulator process exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (message: { ready: { url: string; workspaces: SimWorkspaceInfo[] } }) => {
      child.off('exit', onExit);
      resolve(message.ready);
    });
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  child.on('message', (message: { id?: number; result?: unknown }) => {
    if (message.id === undefined) return;
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  const call = <T>(request: Omit<SimRequest, 'id'>): Promise<T> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve as (result: unknown) => void);
      child.send({ ...request, id });
    });
  return {
    url: ready.url,
    workspaces: () => ready.workspaces,
    counters: () => call<SimCounters>({ op: 'counters' }),
    resetCounters: () => call<void>({ op: 'resetCounters' }),
    setLatency: (ms) => call<void>({ op: 'setLatency', latencyMs: ms } as Omit<SimRequest, 'id'>),
    requestLog: () => call<SimLogEntry[]>({ op: 'requestLog' }),
    setUnreachable: (mode) => call<void>({ op: 'setUnreachable', mode } as Omit<SimRequest, 'id'>),
    close: () => closeChild(child, () => call<void>({ op: 'close' })),
  };
}

async function closeChild(child: ChildProcess, ask: () => Promise<void>): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([ask(), exited]);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
