import type { Sql } from '../db/client';
import type { EmailBisonClient } from '../emailbison/client';
import { describeError } from '../errors';
import type { WorkspaceRef } from '../workspaces/ref';
import { BatchWriter } from './batch-writer';
import { inconsistency } from './removal-rule';
import { type Checkpoint, type SavedWalk, type WalkCursor, WalkState } from './walk-state';

export interface SyncWorkspaceInput {
  jobId: string;
  workspace: WorkspaceRef;
  /** Epoch ms by which this call must have returned; it stops at a page boundary before it. */
  deadlineMs: number;
}

export interface SyncWorkspaceDeps {
  sql: Sql;
  client: EmailBisonClient;
  /** Accounts per write; each batch is one statement. */
  batchSize: number;
  now?: () => number;
  /** Called after each written batch: progress for a person watching. */
  onProgress?: (progress: { workspace: string; page: number; lastPage: number; accountsRead: number }) => void;
  /** Stops at the next page boundary, saving the cursor, as the deadline does. */
  signal?: AbortSignal;
  /** Strings that must never be recorded (the workspace's key): redacted from any stored error. */
  secrets?: string[];
}

export interface SyncWorkspaceResult {
  jobId: string;
  workspace: WorkspaceRef;
  done: boolean;
  /** The next page to fetch when `done` is false. */
  cursor: number | null;
  accountsSynced: number;
}

interface Progress extends SavedWalk {
  status: string;
}

/** Time kept in hand after the last page boundary, for the final write and the result. */
const DEADLINE_MARGIN_MS = 5_000;

/**
 * Pages through one workspace and writes it to Postgres, resumable: when the deadline
 * nears it saves the next page as the cursor and returns `done: false`; the next call
 * continues from the saved cursor, so a retried or looping invocation repeats no
 * finished work. Accounts are marked removed only after a complete, consistent fetch.
 * A failure leaves every existing account as it was and is rethrown (the state
 * machine retries, then records it).
 */
export async function syncWorkspace(deps: SyncWorkspaceDeps, input: SyncWorkspaceInput): Promise<SyncWorkspaceResult> {
  const { sql, client, batchSize } = deps;
  const now = deps.now ?? Date.now;
  const { jobId, workspace } = input;
  const progress = await beginInvocation(sql, jobId, workspace.id);
  if (progress.status === 'synced' || progress.status === 'failed') {
    return { jobId, workspace, done: true, cursor: null, accountsSynced: await seenCount(sql, jobId, workspace.id) };
  }

  const walk = new WalkState(progress, client.stats);
  // Writes overlap the paging: a batch is written while the next pages are read.
  const writer = new BatchWriter(sql, { jobId, workspaceId: workspace.id });
  const flush = async () => {
    const { accounts, alsoSeenIds } = walk.takeBatch();
    await writer.write(accounts, alsoSeenIds);
  };
  // The cursor moves past a page only once every batch read before it is written.
  const saveCursor = async (cursor: WalkCursor | null) => {
    walk.recordWritten(await writer.drain());
    await saveCheckpoint(sql, jobId, workspace.id, walk.checkpoint(cursor, client.stats));
    walk.saved(client.stats);
  };

  try {
    let stoppedEarly = false;
    for await (const page of client.listSenderEmails({ fromPage: walk.cursor })) {
      walk.readPage(page);
      if (walk.batchLength >= batchSize) await flush();
      if (now() >= input.deadlineMs - DEADLINE_MARGIN_MS || deps.signal?.aborted) {
        stoppedEarly = walk.hasPagesLeft();
        break;
      }
      deps.onProgress?.({ workspace: workspace.name, page: page.page, lastPage: walk.lastPage, accountsRead: walk.accountsRead });
    }
    await flush();
    if (stoppedEarly) {
      await saveCursor(walk.cursor);
      return { jobId, workspace, done: false, cursor: walk.cursor, accountsSynced: await seenCount(sql, jobId, workspace.id) };
    }
    await saveCursor(null);
    return await completeWorkspace(sql, jobId, workspace);
  } catch (error) {
    // Keep what was read before the failure, so a retry resumes after it; if the
    // database is what failed, this fails too and the retry starts from the saved cursor.
    await flush()
      .then(() => saveCursor(walk.cursor))
      .catch(() => {});
    await recordAttemptError(sql, jobId, workspace.id, redact(describeError(error), deps.secrets)).catch(() => {});
    throw error;
  }
}

async function beginInvocation(sql: Sql, jobId: string, workspaceId: number): Promise<Progress> {
  const [row] = await sql<Progress[]>`
    update polling_job_workspaces set
      status = case when status = 'pending' then 'running' else status end,
      started_at = coalesce(started_at, now()),
      invocations = invocations + 1
    where job_id = ${jobId} and workspace_id = ${workspaceId}
    returning status, cursor, totals_seen, last_page
  `;
  if (!row) throw new Error(`Job ${jobId} has no workspace ${workspaceId} to sync.`);
  return row;
}

/**
 * Ends a complete walk: marks removed the live accounts it did not see, unless the
 * removal rule finds the walk inconsistent, in which case nothing is removed and a
 * warning says why.
 */
async function completeWorkspace(sql: Sql, jobId: string, workspace: WorkspaceRef): Promise<SyncWorkspaceResult> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ totals_seen: number[]; started_at: Date }[]>`
      select totals_seen, started_at from polling_job_workspaces
      where job_id = ${jobId} and workspace_id = ${workspace.id} for update
    `;
    const seen = await seenCount(tx as unknown as Sql, jobId, workspace.id);
    const [{ live }] = await tx<{ live: number }[]>`
      select count(*)::int as live from sender_emails where workspace_id = ${workspace.id} and deleted_at is null
    `;
    const problem = inconsistency({ totalsSeen: row.totals_seen, seen, live });
    let removed = 0;
    if (!problem) {
      // A set difference, not NOT EXISTS: the seen set was just filled, so its statistics
      // say it is empty, and the planner then rescans it for every live row (a nested-loop
      // anti join: 100,000 accounts took 3 minutes here). EXCEPT hashes or sorts both sides.
      // Rows this job wrote carry it in last_seen_job_id: seen, whatever the seen set holds.
      const result = await tx`
        update sender_emails se set deleted_at = now()
        from (
          select emailbison_id from sender_emails
          where workspace_id = ${workspace.id} and deleted_at is null and last_seen_job_id is distinct from ${jobId}::uuid
          except
          select emailbison_id from polling_job_seen_accounts where job_id = ${jobId} and workspace_id = ${workspace.id}
        ) gone
        where se.workspace_id = ${workspace.id} and se.emailbison_id = gone.emailbison_id and se.deleted_at is null
      `;
      removed = result.count;
    }
    await tx`
      update polling_job_workspaces set
        status = 'synced',
        accounts_synced = ${seen},
        accounts_removed = ${removed},
        expected_total = ${row.totals_seen.at(-1) ?? null},
        warnings = warnings || ${problem ? [`nothing marked removed: ${problem}`] : []}::text[],
        error = null,
        finished_at = now(),
        duration_ms = (extract(epoch from now() - started_at) * 1000)::int
      where job_id = ${jobId} and workspace_id = ${workspace.id}
    `;
    await tx`delete from polling_job_seen_accounts where job_id = ${jobId} and workspace_id = ${workspace.id}`;
    return { jobId, workspace, done: true, cursor: null, accountsSynced: seen };
  });
}

/**
 * Distinct accounts this job has seen in the workspace: those it wrote (their row carries
 * the job in last_seen_job_id) and those it found unchanged (in the seen set). After a
 * Postgres crash the unlogged seen set is empty: the count falls short of the total and
 * the consistency check removes nothing, unless the job rewrote every account.
 */
async function seenCount(sql: Sql, jobId: string, workspaceId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select emailbison_id from polling_job_seen_accounts where job_id = ${jobId} and workspace_id = ${workspaceId}
      union
      select emailbison_id from sender_emails
      where workspace_id = ${workspaceId} and last_seen_job_id = ${jobId}::uuid and deleted_at is null
    ) seen
  `;
  return row.n;
}

async function saveCheckpoint(sql: Sql, jobId: string, workspaceId: number, checkpoint: Checkpoint): Promise<void> {
  const { stats } = checkpoint;
  await sql`
    update polling_job_workspaces set
      cursor = ${checkpoint.cursor},
      last_page = ${checkpoint.lastPage},
      totals_seen = ${checkpoint.totalsSeen}::int[],
      accounts_written = accounts_written + ${checkpoint.accountsWritten},
      warnings = warnings || ${checkpoint.warnings}::text[],
      pages = pages + ${stats.pages},
      api_requests = api_requests + ${stats.requests},
      retries = retries + ${stats.retries},
      skipped_items = skipped_items + ${stats.skippedItems},
      rate_limit_wait_ms = rate_limit_wait_ms + ${Math.round(stats.rateLimitWaitMs)}
    where job_id = ${jobId} and workspace_id = ${workspaceId}
  `;
}

async function recordAttemptError(sql: Sql, jobId: string, workspaceId: number, error: string) {
  await sql`
    update polling_job_workspaces set error = ${error}
    where job_id = ${jobId} and workspace_id = ${workspaceId} and status = 'running'
  `;
}

function redact(text: string, secrets: string[] = []): string {
  return secrets.filter((s) => s.length >= 4).reduce((out, secret) => out.split(secret).join('[redacted]'), text);
}
