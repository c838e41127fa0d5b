import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * A process as another process on this machine can recognise it later: its pid, and what
 * tells a live pid of the same process from a reused one (Linux: its start time in
 * /proc/<pid>/stat; elsewhere nothing, and a live pid counts as the same process). The host
 * and boot id tell "this machine, this boot" from another machine sharing the database.
 */
export interface ProcessIdentity {
  host: string;
  bootId?: string;
  pid: number;
  started?: string;
}

export function thisProcess(): ProcessIdentity {
  return { host: os.hostname(), bootId: bootId(), pid: process.pid, started: startTimeOf(process.pid) };
}

/** Whether `identity` is a process of this machine (same host, same boot): only then can its liveness be checked here. */
export function isOnThisMachine(identity: Pick<ProcessIdentity, 'host' | 'bootId'>): boolean {
  return identity.host === os.hostname() && (identity.bootId ?? null) === (bootId() ?? null);
}

/** Whether the process still runs (a pid reused by another process since is not it). */
export function isAlive(identity: Pick<ProcessIdentity, 'pid' | 'started'>): boolean {
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    // EPERM: it exists, as another user's process.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = statOf(identity.pid);
  // A zombie (killed, not yet reaped by its parent) still answers kill(pid, 0): it is dead.
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return false;
  return identity.started === undefined || stat === undefined || stat.started === identity.started;
}

let cachedBootId: string | undefined | null = null;
function bootId(): string | undefined {
  if (cachedBootId === null) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      cachedBootId = undefined;
    }
  }
  return cachedBootId;
}

function startTimeOf(pid: number): string | undefined {
  return statOf(pid)?.started;
}

/** Fields 3 (state) and 22 (start time, clock ticks after boot) of /proc/<pid>/stat, counted after the name's closing parenthesis. */
function statOf(pid: number): { state: string; started: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], started: fields[19] };
  } catch {
    return undefined;
  }
}
