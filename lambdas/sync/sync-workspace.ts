import type { Sql } from '../db/client';
import type { ClientStats, EmailBisonClient, SenderEmail } from '../emailbison/client';
import { describeError } from '../errors';
import type { WorkspaceRef } from '../workspaces/ref';
import { BatchWriter } from './upsert';

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

interface Progress {
  status: string;
  cursor: number | null;
  totals_seen: number[];
  last_page: number | null;
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

  const statsBefore = { ...client.stats };
  const totalsSeen = new Set(progress.totals_seen);
  let lastPage = progress.last_page ?? 0;
  let cursor = progress.cursor ?? 1;
  let batch: SenderEmail[] = [];
  let skippedIds: number[] = [];
  let written = 0;
  let accountsRead = 0;
  const skippedReasons: string[] = [];

  // Writes overlap the paging: a batch is written while the next pages are read.
  const writer = new BatchWriter(sql, { jobId, workspaceId: workspace.id });
  const flush = async () => {
    const accounts = batch;
    const alsoSeen = skippedIds;
    batch = [];
    skippedIds = [];
    await writer.write(accounts, alsoSeen);
  };

  // The cursor moves past a page only once every batch read before it is written.
  const saveCursor = async (nextPage: number | null) => {
    const result = await writer.drain();
    written += result.inserted + result.updated;
    await sql`
      update polling_job_workspaces set
        cursor = ${nextPage},
        last_page = ${lastPage},
        totals_seen = ${[...totalsSeen]}::int[],
        accounts_written = accounts_written + ${written},
        warnings = warnings || ${skippedReasons.splice(0)}::text[],
        ${statsColumns(sql, statsBefore, client.stats)}
      where job_id = ${jobId} and workspace_id = ${workspace.id}
    `;
    written = 0;
    Object.assign(statsBefore, client.stats);
  };

  try {
    let stoppedEarly = false;
    for await (const page of client.listSenderEmails({ fromPage: cursor })) {
      totalsSeen.add(page.total);
      lastPage = Math.max(lastPage, page.lastPage);
      batch.push(...page.items);
      accountsRead += page.items.length;
      for (const skipped of page.skipped) {
        skippedReasons.push(`skipped an invalid item on page ${skipped.page}: ${skipped.reason}`);
        if (typeof skipped.id === 'number' && Number.isSafeInteger(skipped.id)) skippedIds.push(skipped.id);
      }
      cursor = page.page + 1;
      if (batch.length >= batchSize) await flush();
      if (now() >= input.deadlineMs - DEADLINE_MARGIN_MS || deps.signal?.aborted) {
        stoppedEarly = cursor <= lastPage;
        break;
      }
      deps.onProgress?.({ workspace: workspace.name, page: page.page, lastPage, accountsRead });
    }
    await flush();
    if (stoppedEarly) {
      await saveCursor(cursor);
      return { jobId, workspace, done: false, cursor, accountsSynced: await seenCount(sql, jobId, workspace.id) };
    }
    await saveCursor(null);
    return await completeWorkspace(sql, jobId, workspace);
  } catch (error) {
    // Keep what was read before the failure, so a retry resumes after it; if the
    // database is what failed, this fails too and the retry starts from the saved cursor.
    await flush()
      .then(() => saveCursor(cursor))
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
 * Removal needs a complete and consistent fetch: one total reported throughout, as
 * many distinct accounts seen as that total, and no drop to zero of a workspace that
 * had accounts. Anything else removes nothing and says why.
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
    const problem = inconsistency(row.totals_seen, seen, live);
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

export function inconsistency(totalsSeen: number[], seen: number, live: number): string | undefined {
  const totals = [...new Set(totalsSeen)];
  if (totals.length === 0) return 'no page was read';
  if (totals.length > 1) return `the account total changed while paging (${totals.join(' → ')})`;
  const total = totals[0];
  if (total === 0 && live > 0) return `EmailBison reported 0 accounts for a workspace with ${live} live accounts`;
  if (seen < total) return `saw ${seen} distinct accounts but EmailBison reported ${total}`;
  if (seen > total) return `saw ${seen} distinct accounts, more than the ${total} EmailBison reported`;
  return undefined;
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

function statsColumns(sql: Sql, before: ClientStats, after: ClientStats) {
  return sql`
    pages = pages + ${after.pages - before.pages},
    api_requests = api_requests + ${after.requests - before.requests},
    retries = retries + ${after.retries - before.retries},
    skipped_items = skipped_items + ${after.skippedItems - before.skippedItems},
    rate_limit_wait_ms = rate_limit_wait_ms + ${Math.round(after.rateLimitWaitMs - before.rateLimitWaitMs)}
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
