import type { Sql } from '../db/client';
import type { EmailBisonPagination } from '../config/settings';
import type { EmailBisonClient } from '../emailbison/client';
import { describeError } from '../errors';
import type { WorkspaceRef } from '../workspaces/ref';
import { BatchWriter } from './batch-writer';
import { decideRemoval, type RemovalDecision } from './removal-rule';
import { type Checkpoint, type SavedWalk, type WalkCursor, type WalkMode, WalkState } from './walk-state';

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
  /**
   * EMAILBISON_PAGINATION, as the client was given it (default auto). With auto a fresh walk
   * starts in the mode the workspace last learned (workspaces.pagination_mode), else in page mode.
   */
  pagination?: EmailBisonPagination;
}

export interface SyncWorkspaceResult {
  jobId: string;
  workspace: WorkspaceRef;
  done: boolean;
  /** Where the walk goes on when `done` is false: a page number or an opaque cursor token (bounded, never a secret). */
  cursor: WalkCursor | null;
  accountsSynced: number;
}

interface Progress extends SavedWalk {
  status: string;
  /** What the workspace learned in earlier runs (workspaces.pagination_mode). */
  pagination_mode: WalkMode | null;
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

  const pagination = deps.pagination ?? 'auto';
  const startMode: WalkMode = pagination === 'auto' ? (progress.pagination_mode ?? 'page') : pagination;
  const walk = new WalkState(progress, client.stats, startMode);
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
    for await (const step of client.listSenderEmails({ from: walk.cursor })) {
      if (step.kind === 'restart') {
        // Everything read so far is written before the walk starts again from the top.
        await flush();
        walk.restart(step.mode, step.reason);
        await saveCursor(walk.cursor);
        if (pagination === 'auto') await learnMode(sql, workspace.id, step.mode);
        continue;
      }
      const page = step;
      walk.readPage(page);
      if (walk.batchLength >= batchSize) await flush();
      if (now() >= input.deadlineMs - DEADLINE_MARGIN_MS || deps.signal?.aborted) {
        stoppedEarly = walk.hasPagesLeft();
        break;
      }
      deps.onProgress?.({ workspace: workspace.name, page: page.mode === 'page' ? page.page : walk.walkPages, lastPage: walk.lastPage, accountsRead: walk.accountsRead });
    }
    await flush();
    if (stoppedEarly) {
      await saveCursor(walk.cursor);
      return { jobId, workspace, done: false, cursor: walk.cursor, accountsSynced: await seenCount(sql, jobId, workspace.id) };
    }
    await saveCursor(null);
    if (pagination === 'auto' && progress.pagination_mode !== walk.mode) await learnMode(sql, workspace.id, walk.mode);
    const evidence = walk.mode === 'cursor' && !walk.mixed ? await cursorModeTotal(client, deps.signal) : {};
    return await completeWorkspace(sql, jobId, workspace, evidence);
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
    returning status, cursor, cursor_token, walk_mode, totals_seen, last_page, walk_pages, walk_items, walk_mixed,
      (select pagination_mode from workspaces where id = ${workspaceId}) as pagination_mode
  `;
  if (!row) throw new Error(`Job ${jobId} has no workspace ${workspaceId} to sync.`);
  return row;
}

/** The workspace's instance serves this mode: its next walk starts in it (with EMAILBISON_PAGINATION=auto). */
async function learnMode(sql: Sql, workspaceId: number, mode: WalkMode): Promise<void> {
  await sql`update workspaces set pagination_mode = ${mode} where id = ${workspaceId} and pagination_mode is distinct from ${mode}`;
}

/**
 * Cursor pages carry no total: one `page=1` request gives it where the instance still answers
 * page mode (cursor-default instances do). Asked after the walk, outside any transaction.
 */
async function cursorModeTotal(client: EmailBisonClient, signal?: AbortSignal): Promise<{ total?: number; totalUnavailable?: string }> {
  try {
    const total = await client.pageModeTotal({ signal });
    return total === null ? {} : { total };
  } catch (error) {
    return { totalUnavailable: describeError(error) };
  }
}

/**
 * Ends a complete walk: weighs it with the removal rule (removal-rule.ts), then marks
 * removed the live accounts it did not see (`remove`), or on a cursor-only instance those
 * the previous complete walk missed too, marking the others missed (`confirm`), or
 * nothing, with a warning that says why (`hold`).
 */
async function completeWorkspace(
  sql: Sql,
  jobId: string,
  workspace: WorkspaceRef,
  cursorEvidence: { total?: number; totalUnavailable?: string },
): Promise<SyncWorkspaceResult> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ totals_seen: number[]; walk_mode: WalkMode | null; walk_items: number; walk_mixed: boolean }[]>`
      select totals_seen, walk_mode, walk_items, walk_mixed from polling_job_workspaces
      where job_id = ${jobId} and workspace_id = ${workspace.id} for update
    `;
    const seen = await seenCount(tx as unknown as Sql, jobId, workspace.id);
    const [{ live }] = await tx<{ live: number }[]>`
      select count(*)::int as live from sender_emails where workspace_id = ${workspace.id} and deleted_at is null
    `;
    const mode = row.walk_mode ?? 'page';
    const totalsSeen = mode === 'cursor' ? (cursorEvidence.total === undefined ? [] : [cursorEvidence.total]) : row.totals_seen;
    const decision: RemovalDecision = decideRemoval({
      mode,
      totalsSeen,
      seen,
      live,
      mixed: row.walk_mixed,
      itemsRead: row.walk_items,
      totalUnavailable: cursorEvidence.totalUnavailable,
    });
    const warnings: string[] = [];
    let removed = 0;
    if (decision.action === 'hold') warnings.push(`nothing marked removed: ${decision.reason}`);
    if (decision.action === 'remove') removed = await removeUnseen(tx as unknown as Sql, jobId, workspace.id);
    if (decision.action === 'confirm') {
      const outcome = await confirmUnseen(tx as unknown as Sql, jobId, workspace.id);
      removed = outcome.removed;
      if (outcome.marked > 0) {
        warnings.push(
          `${outcome.marked} account(s) not seen are not marked removed yet: EmailBison gave no account total to check the walk against ` +
            '(cursor pagination), so an account is marked removed only when two complete walks in a row miss it',
        );
      }
    }
    await tx`
      update polling_job_workspaces set
        status = 'synced',
        accounts_synced = ${seen},
        accounts_removed = ${removed},
        expected_total = ${totalsSeen.at(-1) ?? null},
        warnings = warnings || ${warnings}::text[],
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
 * The live accounts of the workspace this job did not see. A set difference, not NOT EXISTS:
 * the seen set was just filled, so its statistics say it is empty, and the planner then
 * rescans it for every live row (a nested-loop anti join: 100,000 accounts took 3 minutes
 * here). EXCEPT hashes or sorts both sides. Rows this job wrote carry it in
 * last_seen_job_id: seen, whatever the seen set holds.
 */
function unseen(sql: Sql, jobId: string, workspaceId: number) {
  return sql`
    select emailbison_id from sender_emails
    where workspace_id = ${workspaceId} and deleted_at is null and last_seen_job_id is distinct from ${jobId}::uuid
    except
    select emailbison_id from polling_job_seen_accounts where job_id = ${jobId} and workspace_id = ${workspaceId}
  `;
}

async function removeUnseen(sql: Sql, jobId: string, workspaceId: number): Promise<number> {
  const result = await sql`
    update sender_emails se set deleted_at = now(), missed_since_job_id = null, first_missed_at = null
    from (${unseen(sql, jobId, workspaceId)}) gone
    where se.workspace_id = ${workspaceId} and se.emailbison_id = gone.emailbison_id and se.deleted_at is null
  `;
  return result.count;
}

/**
 * The two-walk rule: an unseen account already marked missed by an earlier complete walk
 * (and not seen since: a sighting rewrites the row and clears the mark) is marked removed;
 * any other unseen account is marked missed by this job.
 */
async function confirmUnseen(sql: Sql, jobId: string, workspaceId: number): Promise<{ removed: number; marked: number }> {
  const rows = await sql<{ removed: boolean }[]>`
    update sender_emails se set
      deleted_at = case when se.missed_since_job_id is not null then now() end,
      missed_since_job_id = case when se.missed_since_job_id is null then ${jobId}::uuid end,
      first_missed_at = case when se.missed_since_job_id is null then now() end
    from (${unseen(sql, jobId, workspaceId)}) gone
    where se.workspace_id = ${workspaceId} and se.emailbison_id = gone.emailbison_id and se.deleted_at is null
    returning se.deleted_at is not null as removed
  `;
  const removed = rows.filter((row) => row.removed).length;
  return { removed, marked: rows.length - removed };
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
      cursor = ${checkpoint.cursor?.mode === 'page' ? checkpoint.cursor.page : null},
      cursor_token = ${checkpoint.cursor?.mode === 'cursor' ? checkpoint.cursor.token : null},
      walk_mode = ${checkpoint.mode},
      walk_pages = ${checkpoint.walkPages},
      walk_items = ${checkpoint.walkItems},
      walk_mixed = ${checkpoint.walkMixed},
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
