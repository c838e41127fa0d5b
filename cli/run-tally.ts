import type { RunEvent } from '../lambdas/runtime/run-events';
import type { WorkspaceIdRef } from '../lambdas/workspaces/ref';

/*
 * Where a run stands, from its typed events alone: workspaces done of total, accounts read,
 * and the accounts expected from each workspace's last successful sync. A progress display
 * renders a snapshot of it; nothing here draws or reads a clock beyond the `now` it is given.
 */

interface WorkspaceProgress {
  name: string;
  /** From the last successful sync; null when never synced (then the run's total is unknown). */
  expected: number | null;
  /** Accounts saved by the invocations before the current one (the last pause's count). */
  base: number;
  /** Accounts read so far, never going back (a retry re-reads from its saved cursor). */
  read: number;
  state: 'waiting' | 'syncing' | 'synced' | 'failed';
  /** Its last attempt failed: the next one to start is a retry (a rejected key fails at once, never retried). */
  attemptFailed: boolean;
  page?: { page: number; lastPage: number };
}

export interface TallySnapshot {
  started: boolean;
  workspacesTotal: number;
  workspacesDone: number;
  workspacesFailed: number;
  accountsRead: number;
  /** Accounts this run is expected to read; undefined when some workspace was never synced. */
  accountsExpected?: number;
  attemptsRetried: number;
  /** Workspaces being synced now, with their page when one was read. */
  inFlight: { name: string; page?: { page: number; lastPage: number } }[];
  /** Milliseconds since the job started (0 before). */
  elapsedMs: number;
  /** Estimated milliseconds left; undefined when the expected total is unknown or too little is read yet. */
  etaMs?: number;
}

/** Too little read (or too soon) gives a rate that swings wildly: no estimate before both. */
const ETA_MIN_ELAPSED_MS = 1000;
const ETA_MIN_FRACTION = 0.02;

export class RunTally {
  private readonly workspaces = new Map<number, WorkspaceProgress>();
  private startedAt?: number;
  private retries = 0;

  constructor(private readonly now: () => number = Date.now) {}

  apply(event: RunEvent): void {
    switch (event.type) {
      case 'job-started':
        this.startedAt = this.now();
        for (const w of event.workspaces) {
          this.workspaces.set(w.id, {
            name: w.name,
            expected: w.lastAccountsSynced,
            base: 0,
            read: 0,
            state: 'waiting',
            attemptFailed: false,
          });
        }
        return;
      case 'workspace-syncing': {
        const w = this.workspace(event.workspace);
        if (w.attemptFailed) this.retries += 1;
        w.attemptFailed = false;
        w.state = 'syncing';
        w.page = undefined;
        return;
      }
      case 'page-synced': {
        const w = this.workspace(event.workspace);
        w.read = Math.max(w.read, w.base + event.accountsRead);
        w.page = { page: event.page, lastPage: event.lastPage };
        return;
      }
      case 'workspace-paused': {
        const w = this.workspace(event.workspace);
        w.base = event.accountsSynced;
        w.read = Math.max(w.read, event.accountsSynced);
        w.state = 'waiting';
        return;
      }
      case 'workspace-synced': {
        const w = this.workspace(event.workspace);
        // What the sync counted is the truth: the bar's total follows it.
        w.read = event.accountsSynced;
        w.expected = event.accountsSynced;
        w.state = 'synced';
        return;
      }
      case 'workspace-attempt-failed': {
        const w = this.workspace(event.workspace);
        w.attemptFailed = true;
        if (w.state === 'syncing') w.state = 'waiting';
        return;
      }
      case 'workspace-failed': {
        const w = this.workspace(event.workspace);
        // The rest of it will not be read in this run: expect no more than was.
        w.expected = w.read;
        w.state = 'failed';
        return;
      }
      default:
        return;
    }
  }

  /** The name of a workspace the events named by id only (a failure before its row was read). */
  nameOf(ref: WorkspaceIdRef): string {
    return ref.name ?? this.workspaces.get(ref.id)?.name ?? `workspace ${ref.id}`;
  }

  snapshot(): TallySnapshot {
    const all = [...this.workspaces.values()];
    const done = all.filter((w) => w.state === 'synced' || w.state === 'failed');
    const accountsRead = all.reduce((sum, w) => sum + w.read, 0);
    const known = all.every((w) => w.expected !== null);
    const accountsExpected = known ? all.reduce((sum, w) => sum + Math.max(w.expected ?? 0, w.read), 0) : undefined;
    const elapsedMs = this.startedAt === undefined ? 0 : this.now() - this.startedAt;
    return {
      started: this.startedAt !== undefined,
      workspacesTotal: all.length,
      workspacesDone: done.length,
      workspacesFailed: all.filter((w) => w.state === 'failed').length,
      accountsRead,
      accountsExpected,
      attemptsRetried: this.retries,
      inFlight: all.filter((w) => w.state === 'syncing').map((w) => ({ name: w.name, page: w.page })),
      elapsedMs,
      etaMs: estimateMs(accountsRead, accountsExpected, elapsedMs),
    };
  }

  private workspace(ref: WorkspaceIdRef): WorkspaceProgress {
    let w = this.workspaces.get(ref.id);
    if (!w) {
      // An event for a workspace job-started did not list (a redriven execution): count it, expecting nothing.
      w = { name: ref.name ?? `workspace ${ref.id}`, expected: null, base: 0, read: 0, state: 'waiting', attemptFailed: false };
      this.workspaces.set(ref.id, w);
    }
    return w;
  }
}

/** Time left at the rate so far: (expected - read) / (read / elapsed). */
export function estimateMs(read: number, expected: number | undefined, elapsedMs: number): number | undefined {
  if (expected === undefined || expected === 0) return undefined;
  if (read >= expected) return 0;
  if (elapsedMs < ETA_MIN_ELAPSED_MS || read < expected * ETA_MIN_FRACTION || read === 0) return undefined;
  return ((expected - read) * elapsedMs) / read;
}
