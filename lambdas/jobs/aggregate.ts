import { NO_WARMUP_ENDPOINT } from '../warmup/warmup-workspace';
import { DEFERRED_NAMES_LISTED } from './plan-run';

/** A workspace's row of polling_job_workspaces, as far as the job's outcome needs it. */
export interface WorkspaceRow {
  workspace_name: string;
  status: 'pending' | 'running' | 'synced' | 'failed' | 'skipped' | 'deferred';
  accounts_synced: number;
  accounts_removed: number;
  rate_limit_wait_ms: number;
  warnings: string[];
  error: string | null;
}

/** What a finished job's polling_job_status row records. */
export interface JobOutcome {
  status: 'completed' | 'partial' | 'failed';
  synced: number;
  failed: number;
  /** Skipped ones include them. */
  skipped: number;
  deferred: number;
  accountsSynced: number;
  accountsRemoved: number;
  /**
   * Every warning of a synced workspace and one per workspace that did not sync, each prefixed
   * with its name; deferred workspaces in one warning per instance (first); at most MAX_JOB_WARNINGS.
   */
  warnings: string[];
  errorMessage: string | null;
}

/**
 * The job row's warnings at most: a run of thousands of workspaces on a dead instance must not
 * write thousands of lines to one row; polling_job_workspaces keeps each workspace's.
 */
export const MAX_JOB_WARNINGS = 100;

/**
 * A job's outcome from its workspaces: `completed` when every workspace synced,
 * `partial` when some did not (each named in a warning), `failed` when none did or the
 * run itself broke (`runError`). Warnings are prefixed with the workspace they concern,
 * since the job row holds them all in one list. Counts cover every workspace, synced or not.
 * A deferred workspace (Start job's plan left it to the next run) did not sync: a run that
 * deferred some is `partial`, as DESIGN.md's rule says (completed = every workspace synced),
 * so the job row never says complete while some accounts are an interval older than it
 * claims; they are named, a few per instance, in one warning per instance.
 */
export function aggregate(workspaces: WorkspaceRow[], runError: string | undefined): JobOutcome {
  const warnings: string[] = [];
  let synced = 0;
  let failed = 0;
  let skipped = 0;
  const deferred = new Map<string, string[]>();
  // Warmup pass: workspaces of an instance without the warmup list, by that instance's reason.
  const withoutWarmup = new Map<string, string[]>();
  let accountsSynced = 0;
  let accountsRemoved = 0;
  for (const ws of workspaces) {
    accountsSynced += ws.accounts_synced;
    accountsRemoved += ws.accounts_removed;
    if (ws.status === 'synced') {
      synced += 1;
      for (const warning of ws.warnings) warnings.push(`${ws.workspace_name}: ${warning}`);
    } else if (ws.status === 'deferred') {
      skipped += 1;
      const reason = ws.error ?? 'deferred';
      deferred.set(reason, [...(deferred.get(reason) ?? []), ws.workspace_name]);
    } else if (ws.status === 'skipped' && ws.error?.startsWith(NO_WARMUP_ENDPOINT)) {
      skipped += 1;
      withoutWarmup.set(ws.error, [...(withoutWarmup.get(ws.error) ?? []), ws.workspace_name]);
    } else if (ws.status === 'failed') {
      failed += 1;
      warnings.push(`${ws.workspace_name}: ${failureWarning(ws.error)}`);
    } else {
      skipped += 1;
      warnings.push(`${ws.workspace_name}: skipped: ${ws.error ?? 'not synced: the run ended before this workspace finished'}`);
    }
  }
  // An instance without the warmup list is nothing the pass can do better: its workspaces are
  // said once and do not count against the job.
  const expected = workspaces.length - [...withoutWarmup.values()].reduce((n, names) => n + names.length, 0);
  let status: JobOutcome['status'];
  if (runError) status = 'failed';
  else if (synced === expected) status = 'completed';
  else if (synced === 0) status = 'failed';
  else status = 'partial';
  const errorMessage = runError ?? (status === 'failed' ? `No workspace synced (${failed} failed, ${skipped} skipped).` : null);
  const deferredCount = [...deferred.values()].reduce((n, names) => n + names.length, 0);
  const all = [
    ...[...withoutWarmup].map(([reason, names]) => withoutWarmupWarning(reason, names)),
    ...[...deferred].map(([reason, names]) => deferredWarning(reason, names)),
    ...warnings,
  ];
  return {
    status,
    synced,
    failed,
    skipped,
    deferred: deferredCount,
    accountsSynced,
    accountsRemoved,
    warnings: bounded(all),
    errorMessage,
  };
}

/** One warning for the workspaces one instance deferred: the reason, a few names, the count of the rest. */
function deferredWarning(reason: string, names: string[]): string {
  const listed = names.slice(0, DEFERRED_NAMES_LISTED).join(', ');
  const rest = names.length > DEFERRED_NAMES_LISTED ? `, … and ${names.length - DEFERRED_NAMES_LISTED} more` : '';
  return `${names.length} workspace${names.length === 1 ? '' : 's'} ${reason} (they sync first next run): ${listed}${rest}`;
}

/** One warning per instance without the warmup list: the instance, a few of its workspaces, the count of the rest. */
function withoutWarmupWarning(reason: string, names: string[]): string {
  const listed = names.slice(0, DEFERRED_NAMES_LISTED).join(', ');
  const rest = names.length > DEFERRED_NAMES_LISTED ? `, … and ${names.length - DEFERRED_NAMES_LISTED} more` : '';
  return `${reason}: its ${names.length} workspace${names.length === 1 ? '' : 's'} skipped (${listed}${rest})`;
}

function bounded(warnings: string[]): string[] {
  if (warnings.length <= MAX_JOB_WARNINGS) return warnings;
  const kept = warnings.slice(0, MAX_JOB_WARNINGS - 1);
  return [...kept, `… and ${warnings.length - kept.length} more warnings: polling_job_workspaces holds each workspace's`];
}

const UNREACHABLE = 'EmailBisonUnreachableError: ';

/**
 * A failed workspace's warning. A dead instance is worded `unreachable: ...`, not `failed`:
 * nothing is wrong with the workspace itself, and every workspace of that host says the same.
 */
function failureWarning(error: string | null): string {
  if (error?.startsWith(UNREACHABLE)) return `unreachable: ${error.slice(UNREACHABLE.length)}`;
  return `failed: ${error ?? 'no error recorded'}`;
}
