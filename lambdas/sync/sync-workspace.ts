import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Sql } from '../db/client';
import { type EmailBisonPagination, SETTINGS } from '../config/settings';
import type { EmailBisonClient } from '../emailbison/client';
import { describeError, errorCode, redactSecrets } from '../errors';
import type { WorkspaceRef } from '../workspaces/ref';
import { BatchWriter } from './batch-writer';
import { deadlineSignal } from './deadline';
import { type Claim, claimWorkspace, type LeaseHolder, lockOwnedWorkspace, type Progress, releaseLease, saveCheckpoint } from './lease';
import { decideRemoval, type RemovalDecision } from './removal-rule';
import { savedCursor, type WalkCursor, type WalkMode, WalkState } from './walk-state';

export interface SyncWorkspaceInput {
  jobId: string;
  workspace: WorkspaceRef;
  /**
   * Epoch ms by which this call must have returned. Everything it waits on is aborted a
   * margin before it (requests in flight, Retry-After waits, another invocation's lease);
   * it then saves its cursor and returns `done: false`.
   */
  deadlineMs: number;
  /**
   * Real milliseconds from now to `deadlineMs`, for the abort timer (a caller with its own
   * clock gives it); default `deadlineMs - now()`.
   */
  timeLeftMs?: number;
}

export interface SyncWorkspaceDeps {
  sql: Sql;
  client: EmailBisonClient;
  /** Accounts per write; each batch is one transaction that also saves the cursor past it. */
  batchSize: number;
  now?: () => number;
  /** Called after each written batch: progress for a person watching. */
  onProgress?: (progress: { workspace: string; page: number; lastPage: number; accountsRead: number }) => void;
  /** Another invocation holds the workspace: this one waits for it (at most until its deadline). */
  onLeaseHeld?: (info: { leaseMsLeft: number }) => void;
  /**
   * Runs once the workspace is this invocation's, alongside the first pages; nothing is
   * written until it settles, and its rejection fails the sync. `firstInvocation` on the
   * job's first invocation of it (the key's binding check, binding-check.ts). Not cut by the
   * deadline: one request (with the client's retries), which must finish for anything to be written.
   */
  beforeWalk?: (options: { firstInvocation: boolean }) => Promise<void>;
  /**
   * Reads the event log and applies the missed events (event-log.ts), at the job's first
   * invocation of the workspace, once beforeWalk has passed, alongside the first pages:
   * the walk writes nothing until it settles, so a change both see is the log's. Must not
   * reject but when the sync's signal aborts (its problems are warnings).
   */
  recoverEvents?: (options: { signal: AbortSignal }) => Promise<unknown>;
  /** Stops the sync as its deadline does: what is in flight is aborted, the cursor saved. */
  signal?: AbortSignal;
  /** Strings that must never be recorded (the workspace's key): redacted from any stored error. */
  secrets?: string[];
  /**
   * EMAILBISON_PAGINATION, as the client was given it (default auto). With auto a fresh walk
   * starts in the mode the workspace last learned (workspaces.pagination_mode), else in page mode.
   */
  pagination?: EmailBisonPagination;
  /** EMAILBISON_MAX_STALE_PAGES: pages in a row with no new account before the walk is failed (walk-guard.ts). */
  maxStalePages?: number;
}

export interface SyncWorkspaceResult {
  jobId: string;
  workspace: WorkspaceRef;
  done: boolean;
  /** Where the walk goes on when `done` is false: a page number or an opaque cursor token (bounded, never a secret). */
  cursor: WalkCursor | null;
  accountsSynced: number;
  /**
   * Set when the job had already ended when this invocation began (an execution redriven
   * after its job was marked failed, or an invocation Step Functions left running): it
   * wrote nothing.
   */
  jobEnded?: { status: string; note: string };
}

/** Time kept in hand after the deadline's abort, for the final write and the result. */
export const DEADLINE_MARGIN_MS = 5_000;
/**
 * How long a lease outlives the holder's deadline: with the Lambda's safety margin
 * (sync-workspace/task.ts) it ends at the Lambda's own timeout, when the holder is
 * certainly gone, so a lease never expires under a live invocation.
 */
export const LEASE_GRACE_MS = 60_000;
/** How often an invocation waiting for another's lease asks again. */
const LEASE_POLL_MS = 500;

/**
 * Pages through one workspace and writes it to Postgres, resumable: each batch is written
 * with the cursor past it in one transaction, so a crash or a Lambda timeout repeats at
 * most one batch of pages; at its deadline the invocation aborts what is in flight and
 * returns `done: false`; the next call continues from the saved cursor. Accounts are
 * marked removed only after a complete, consistent fetch. Only the holder of the
 * workspace's lease writes, and only while the job is running (lease.ts): an invocation
 * that finds it otherwise stops with JobNoLongerRunningError or WorkspaceLeaseLostError
 * and writes nothing more. Any other failure leaves every existing account as it was and
 * is rethrown (the state machine retries, then records it).
 */
export async function syncWorkspace(deps: SyncWorkspaceDeps, input: SyncWorkspaceInput): Promise<SyncWorkspaceResult> {
  const { sql } = deps;
  const now = deps.now ?? Date.now;
  const { jobId, workspace } = input;
  const timeLeftMs = input.timeLeftMs ?? input.deadlineMs - now();
  // Half of a budget shorter than twice the margin, so an invocation always has time to read a page.
  const stop = deadlineSignal({
    inMs: timeLeftMs - Math.min(DEADLINE_MARGIN_MS, timeLeftMs / 2),
    workspace: workspace.name,
    outer: deps.signal,
  });
  const holder: LeaseHolder = { jobId, workspaceId: workspace.id, workspace: workspace.name, leaseId: randomUUID() };
  try {
    const claim = await waitForLease(deps, holder, timeLeftMs + LEASE_GRACE_MS, stop.signal);
    if (claim.kind === 'job-ended') return jobEndedResult(input, claim.jobStatus);
    if (claim.kind === 'held') {
      // Stopped waiting at the deadline: the holder goes on; this iteration asks again.
      return { jobId, workspace, done: false, cursor: savedCursor(claim.progress) ?? null, accountsSynced: 0 };
    }
    try {
      return await walkWorkspace(deps, input, holder, claim.progress, stop);
    } finally {
      await releaseLease(sql, holder).catch(() => {});
    }
  } finally {
    stop.dispose();
  }
}

async function walkWorkspace(
  deps: SyncWorkspaceDeps,
  input: SyncWorkspaceInput,
  holder: LeaseHolder,
  progress: Progress,
  stop: ReturnType<typeof deadlineSignal>,
): Promise<SyncWorkspaceResult> {
  const { sql, client, batchSize } = deps;
  const now = deps.now ?? Date.now;
  const { jobId, workspace } = input;
  // Another invocation (a retry that outlived its Lambda's invoke) finished it: its count stands.
  if (progress.status === 'synced') return { jobId, workspace, done: true, cursor: null, accountsSynced: progress.accounts_synced };
  if (progress.status === 'failed')
    return { jobId, workspace, done: true, cursor: null, accountsSynced: await seenCount(sql, jobId, workspace.id) };

  const pagination = deps.pagination ?? 'auto';
  const startMode: WalkMode = pagination === 'auto' ? (progress.pagination_mode ?? 'page') : pagination;
  const walk = new WalkState(progress, client.stats, startMode, {
    workspace: workspace.name,
    maxStalePages: deps.maxStalePages ?? SETTINGS.maxStalePages.default,
  });
  // Writes overlap the paging: a batch is written (with the cursor past it) while the next pages are read.
  const writer = new BatchWriter(sql, { jobId, workspaceId: workspace.id });
  // The first invocation's key binding check runs alongside the first pages; nothing is
  // written until it passes, and a key bound elsewhere fails the sync with its error.
  // Until something of the walk is saved the check has not passed (nothing is written before it
  // does): a retry of a first invocation that failed during the check checks again.
  const firstInvocation = progress.invocations === 0 || savedCursor(progress) === undefined;
  const bindingChecked = deps.beforeWalk?.({ firstInvocation });
  bindingChecked?.catch(() => {}); // awaited before every write
  // The log's missed events go in before the walk's first batch: a change both see is recorded at the log's time.
  const recover = deps.recoverEvents;
  // Settles either way: a log stopped by the deadline leaves the walk to write what it read (the next run reads the log).
  // Its own signal, which follows the deadline's, so a walk that fails stops it rather than wait for its retries.
  const recoverStop = new AbortController();
  const followStop = () => recoverStop.abort(stop.signal.reason);
  stop.signal.addEventListener('abort', followStop, { once: true });
  const eventsRecovered =
    firstInvocation && recover
      ? Promise.resolve(bindingChecked)
          .then(() => recover({ signal: recoverStop.signal }))
          .catch(() => undefined)
          .finally(() => stop.signal.removeEventListener('abort', followStop))
      : undefined;
  const beforeWrites = async () => {
    await bindingChecked;
    await eventsRecovered;
  };
  const flush = async () => {
    await beforeWrites();
    const { accounts, alsoSeenIds, fetchedAtMs } = walk.takeBatch();
    if (accounts.length === 0 && alsoSeenIds.length === 0) return;
    const checkpoint = walk.take(walk.cursor, client.stats);
    await writer.write(
      accounts,
      alsoSeenIds,
      (tx, written) =>
        saveCheckpoint(tx, holder, { ...checkpoint, accountsWritten: checkpoint.accountsWritten + written.inserted + written.updated }),
      fetchedAtMs,
    );
  };
  // The cursor moves past a page only once every batch read before it is written.
  const saveCursor = async (cursor: WalkCursor | null) => {
    await beforeWrites();
    await writer.after((tx) => saveCheckpoint(tx, holder, walk.take(cursor, client.stats)));
  };
  const stoppedHere = async () => {
    await flush();
    await saveCursor(walk.cursor);
    return { jobId, workspace, done: false, cursor: walk.cursor, accountsSynced: await seenCount(sql, jobId, workspace.id) };
  };

  // Cursor pages carry no total: the one page=1 request that may give it goes out with the
  // walk's first cursor page of this invocation, not after the last.
  let cursorTotal: Promise<{ total?: number; totalUnavailable?: string }> | undefined;
  try {
    let stoppedEarly = false;
    for await (const step of client.listSenderEmails({ from: walk.cursor, signal: stop.signal })) {
      if (step.kind === 'restart') {
        // Everything read so far is written before the walk starts again from the top.
        await flush();
        walk.restart(step.mode, step.reason);
        await saveCursor(walk.cursor);
        if (pagination === 'auto') await learnMode(sql, holder, step.mode);
        continue;
      }
      const page = step;
      if (page.mode === 'cursor') cursorTotal ??= cursorModeTotal(client, stop);
      walk.readPage(page);
      if (walk.batchLength >= batchSize) await flush();
      // The clock is checked too: a caller's clock (a test's) need not be the timer's.
      if (stop.signal.aborted || now() >= input.deadlineMs - DEADLINE_MARGIN_MS) {
        stoppedEarly = walk.hasPagesLeft();
        break;
      }
      deps.onProgress?.({
        workspace: workspace.name,
        page: page.mode === 'page' ? page.page : walk.walkPages,
        lastPage: walk.lastPage,
        accountsRead: walk.accountsRead,
      });
    }
    if (stoppedEarly) return await stoppedHere();
    await flush();
    await saveCursor(null);
    if (pagination === 'auto' && progress.pagination_mode !== walk.mode) await learnMode(sql, holder, walk.mode);
    const evidence = walk.mode === 'cursor' && !walk.mixed ? await (cursorTotal ?? cursorModeTotal(client, stop)) : {};
    return await completeWorkspace(sql, holder, workspace, evidence);
  } catch (error) {
    // The binding check (and the log) may still be in flight: the invocation ends with them, never leaving them behind.
    await bindingChecked?.catch(() => {});
    if (!stop.signal.aborted) recoverStop.abort(error);
    await eventsRecovered;
    // The job ended or another invocation took over: nothing more is written, not even the error.
    if (isOwnershipLost(error)) throw error;
    // The deadline (or the caller) stopped it: what was read is written and the walk goes on from here.
    if (stop.signal.aborted) return await stoppedHere();
    // Keep what was read before the failure, so a retry resumes after it; if the
    // database is what failed, this fails too and the retry starts from the saved cursor.
    await flush()
      .then(() => saveCursor(walk.cursor))
      .catch(() => {});
    await recordAttemptError(sql, holder, redactSecrets(describeError(error), deps.secrets ?? [])).catch(() => {});
    throw error;
  }
}

/** Waits while another invocation holds the workspace, until it is free or the deadline's signal fires. */
export async function waitForLease(
  deps: Pick<SyncWorkspaceDeps, 'sql' | 'onLeaseHeld'>,
  holder: LeaseHolder,
  leaseMs: number,
  signal: AbortSignal,
): Promise<Claim> {
  for (;;) {
    const claim = await claimWorkspace(deps.sql, holder, leaseMs);
    if (claim.kind !== 'held') return claim;
    deps.onLeaseHeld?.({ leaseMsLeft: claim.leaseMsLeft });
    try {
      await delay(Math.max(10, Math.min(LEASE_POLL_MS, claim.leaseMsLeft)), undefined, { signal });
    } catch (error) {
      if (signal.aborted) return claim;
      throw error;
    }
  }
}

function jobEndedResult(input: SyncWorkspaceInput, status: string): SyncWorkspaceResult {
  return {
    jobId: input.jobId,
    workspace: input.workspace,
    done: true,
    cursor: null,
    accountsSynced: 0,
    jobEnded: {
      status,
      note: `job ${input.jobId} had already ended (${status}) when this invocation began: nothing was written. Redrive is not supported: start a new execution.`,
    },
  };
}

function isOwnershipLost(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'SS_JOB_NOT_RUNNING' || code === 'SS_WORKSPACE_LEASE_LOST';
}

/** The workspace's instance serves this mode: its next walk starts in it (with EMAILBISON_PAGINATION=auto). */
async function learnMode(sql: Sql, holder: LeaseHolder, mode: WalkMode): Promise<void> {
  await sql`
    update workspaces set pagination_mode = ${mode}
    where id = ${holder.workspaceId} and pagination_mode is distinct from ${mode}
      and exists (
        select 1 from polling_job_workspaces w join polling_job_status j on j.id = w.job_id
        where w.job_id = ${holder.jobId} and w.workspace_id = ${holder.workspaceId} and w.lease_id = ${holder.leaseId} and j.status = 'running'
      )
  `;
}

/**
 * Cursor pages carry no total: one `page=1` request gives it where the instance still answers
 * page mode (cursor-default instances do). Never rejects: a failure is evidence too.
 */
async function cursorModeTotal(
  client: EmailBisonClient,
  stop: { signal: AbortSignal; deadlineReached: boolean },
): Promise<{ total?: number; totalUnavailable?: string }> {
  try {
    const total = await client.pageModeTotal({ signal: stop.signal });
    return total === null ? {} : { total };
  } catch (error) {
    if (stop.deadlineReached) return { totalUnavailable: 'the invocation reached its deadline before EmailBison gave the total' };
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
  holder: LeaseHolder,
  workspace: WorkspaceRef,
  cursorEvidence: { total?: number; totalUnavailable?: string },
): Promise<SyncWorkspaceResult> {
  const { jobId } = holder;
  return sql.begin(async (tx) => {
    const row = await lockOwnedWorkspace<{ totals_seen: number[]; walk_mode: WalkMode | null; walk_items: number; walk_mixed: boolean }>(
      tx as unknown as Sql,
      holder,
    );
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

/**
 * Marks removed the live accounts this walk did not see, with a 'removed' change row each
 * in the same statement (none for an account re-added under a new id: readdedFrom). An
 * account a webhook changed after the walk began (added, say, after its pages were read)
 * is not the walk's to judge: it stays as it is.
 */
async function removeUnseen(sql: Sql, jobId: string, workspaceId: number): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    with gone as (
      update sender_emails se set deleted_at = now(), missed_since_job_id = null, first_missed_at = null
      from (${unseen(sql, jobId, workspaceId)}) gone
      where se.workspace_id = ${workspaceId} and se.emailbison_id = gone.emailbison_id and se.deleted_at is null
        and not ${webhookChangedDuringWalk(sql, jobId, workspaceId)}
      returning se.emailbison_id, se.email
    ),
    changes as (
      insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, source, job_id)
      select ${workspaceId}::int, emailbison_id, email, 'removed', 'false', 'true', 'sync', ${jobId}::uuid from gone
      where not ${readdedFrom(sql, workspaceId, 'gone')}
    )
    select count(*)::int as n from gone
  `;
  return n;
}

/**
 * The account (`alias`.emailbison_id) came back under a new id: a 'readded' row (012) already
 * says old id -> new id, so its removal records no 'removed' row of its own (one account,
 * not a removal and an unrelated addition).
 */
function readdedFrom(sql: Sql, workspaceId: number, alias: 'gone' | 'touched') {
  return sql`exists (
    select from sender_email_changes c
    where c.workspace_id = ${workspaceId}::int and c.field = 'readded' and c.old_value = to_jsonb(${sql(alias)}.emailbison_id)
  )`;
}

/** The row (alias se) took a webhook change since this workspace's sync in the job began. */
function webhookChangedDuringWalk(sql: Sql, jobId: string, workspaceId: number) {
  return sql`coalesce(se.webhook_changed_at >= (
    select started_at from polling_job_workspaces where job_id = ${jobId}::uuid and workspace_id = ${workspaceId}
  ), false)`;
}

/**
 * The two-walk rule: an unseen account already marked missed by an earlier complete walk
 * (and not seen since: a sighting rewrites the row and clears the mark) is marked removed
 * (with its 'removed' change row); any other unseen account is marked missed by this job.
 */
async function confirmUnseen(sql: Sql, jobId: string, workspaceId: number): Promise<{ removed: number; marked: number }> {
  const [outcome] = await sql<{ removed: number; marked: number }[]>`
    with touched as (
      update sender_emails se set
        deleted_at = case when se.missed_since_job_id is not null then now() end,
        missed_since_job_id = case when se.missed_since_job_id is null then ${jobId}::uuid end,
        first_missed_at = case when se.missed_since_job_id is null then now() end
      from (${unseen(sql, jobId, workspaceId)}) gone
      where se.workspace_id = ${workspaceId} and se.emailbison_id = gone.emailbison_id and se.deleted_at is null
        and not ${webhookChangedDuringWalk(sql, jobId, workspaceId)}
      returning se.emailbison_id, se.email, se.deleted_at is not null as removed
    ),
    changes as (
      insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, source, job_id)
      select ${workspaceId}::int, emailbison_id, email, 'removed', 'false', 'true', 'sync', ${jobId}::uuid from touched
      where removed and not ${readdedFrom(sql, workspaceId, 'touched')}
    )
    select count(*) filter (where removed)::int as removed, count(*) filter (where not removed)::int as marked from touched
  `;
  return outcome;
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

export async function recordAttemptError(sql: Sql, holder: LeaseHolder, error: string) {
  await sql`
    update polling_job_workspaces w set error = ${error}
    from polling_job_status j
    where w.job_id = ${holder.jobId} and w.workspace_id = ${holder.workspaceId} and w.status = 'running'
      and w.lease_id = ${holder.leaseId} and j.id = w.job_id and j.status = 'running'
  `;
}
