/** A workspace's row of polling_job_workspaces, as far as the job's outcome needs it. */
export interface WorkspaceRow {
  workspace_name: string;
  status: 'pending' | 'running' | 'synced' | 'failed' | 'skipped';
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
  skipped: number;
  accountsSynced: number;
  accountsRemoved: number;
  /** Every warning of a synced workspace and one per workspace that did not sync, each prefixed with its name. */
  warnings: string[];
  errorMessage: string | null;
}

/**
 * A job's outcome from its workspaces: `completed` when every workspace synced,
 * `partial` when some did not (each named in a warning), `failed` when none did or the
 * run itself broke (`runError`). Warnings are prefixed with the workspace they concern,
 * since the job row holds them all in one list. Counts cover every workspace, synced or not.
 */
export function aggregate(workspaces: WorkspaceRow[], runError: string | undefined): JobOutcome {
  const warnings: string[] = [];
  let synced = 0;
  let failed = 0;
  let skipped = 0;
  let accountsSynced = 0;
  let accountsRemoved = 0;
  for (const ws of workspaces) {
    accountsSynced += ws.accounts_synced;
    accountsRemoved += ws.accounts_removed;
    if (ws.status === 'synced') {
      synced += 1;
      for (const warning of ws.warnings) warnings.push(`${ws.workspace_name}: ${warning}`);
    } else if (ws.status === 'failed') {
      failed += 1;
      warnings.push(`${ws.workspace_name}: ${failureWarning(ws.error)}`);
    } else {
      skipped += 1;
      warnings.push(`${ws.workspace_name}: skipped: ${ws.error ?? 'not synced: the run ended before this workspace finished'}`);
    }
  }
  let status: JobOutcome['status'];
  if (runError) status = 'failed';
  else if (synced === workspaces.length) status = 'completed';
  else if (synced === 0) status = 'failed';
  else status = 'partial';
  const errorMessage = runError ?? (status === 'failed' ? `No workspace synced (${failed} failed, ${skipped} skipped).` : null);
  return { status, synced, failed, skipped, accountsSynced, accountsRemoved, warnings, errorMessage };
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
