import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/client';
import type { ClientStats, EmailBisonClient, WalkCursor } from '../emailbison/client';
import { describeError, errorCode, redactSecrets } from '../errors';
import { deadlineSignal } from '../sync/deadline';
import { type LeaseHolder, ownershipLost, type Progress, releaseLease, saveCheckpoint } from '../sync/lease';
import { DEADLINE_MARGIN_MS, LEASE_GRACE_MS, recordAttemptError, waitForLease } from '../sync/sync-workspace';
import { savedCursor, type WalkMode, walkStart } from '../sync/walk-state';
import type { WorkspaceRef } from '../workspaces/ref';
import { upsertWarmupRows, type WarmupRow, warmupRow } from './rows';

export const WARMUP_LIST_PATH = '/api/warmup/sender-emails';

/**
 * The error a workspace of an instance without the warmup list is skipped with: the same text
 * for every workspace of the instance, so the job's warnings say it once (aggregate.ts).
 */
export const NO_WARMUP_ENDPOINT = 'no warmup endpoint: ';

export function noWarmupEndpoint(host: string): string {
  return `${NO_WARMUP_ENDPOINT}EmailBison at ${host} answered 404 to GET ${WARMUP_LIST_PATH}`;
}

export interface WarmupWorkspaceInput {
  jobId: string;
  workspace: WorkspaceRef;
  /** The UTC day read (YYYY-MM-DD): the list is asked for start_date = end_date = day. */
  day: string;
  /** As SyncWorkspaceInput's: at it the invocation saves its cursor and returns `done: false`. */
  deadlineMs: number;
  timeLeftMs?: number;
}

export interface WarmupWorkspaceDeps {
  sql: Sql;
  /** A client of the warmup list (`list: { path: WARMUP_LIST_PATH, query: { start_date, end_date } }`). */
  client: EmailBisonClient;
  /** The workspace's instance (host-budget.ts's instanceHost): an instance without the list is said once per run. */
  host: string;
  /** Rows per write; each batch is one transaction that also saves the cursor past it. */
  batchSize: number;
  now?: () => number;
  /** As SyncWorkspaceDeps' (the key's binding check at the job's first invocation); awaited before anything is written. */
  beforeWalk?: (options: { firstInvocation: boolean }) => Promise<void>;
  onLeaseHeld?: (info: { leaseMsLeft: number }) => void;
  onProgress?: (progress: { workspace: string; page: number; lastPage: number; accountsRead: number }) => void;
  signal?: AbortSignal;
  secrets?: string[];
}

export interface WarmupWorkspaceResult {
  jobId: string;
  workspace: WorkspaceRef;
  mode: 'warmup';
  day: string;
  done: boolean;
  cursor: WalkCursor | null;
  /** Accounts with figures for the day in the workspace once done (so far, before). */
  accountsSynced: number;
  /** Set when the workspace was skipped (its instance has no warmup list). */
  skipped?: string;
  /** As SyncWorkspaceResult's: the job had ended, nothing was written. */
  jobEnded?: { status: string; note: string };
}

/**
 * The warmup figures of one workspace for one day, written to sender_email_warmup_daily:
 * the account sync's walk (the same client, lease, deadline and checkpoints in
 * polling_job_workspaces), without its removal rule: a warmup row is never removed. Each batch
 * is written with the cursor past it in one transaction, so a crash repeats at most one batch
 * (which then writes nothing new). An instance that answers 404 to the list's first page has no
 * warmup endpoint: the workspace is skipped, and so is every other workspace of that instance
 * in the job, without a request.
 */
export async function warmupWorkspace(deps: WarmupWorkspaceDeps, input: WarmupWorkspaceInput): Promise<WarmupWorkspaceResult> {
  const now = deps.now ?? Date.now;
  const { jobId, workspace, day } = input;
  const timeLeftMs = input.timeLeftMs ?? input.deadlineMs - now();
  const stop = deadlineSignal({
    inMs: timeLeftMs - Math.min(DEADLINE_MARGIN_MS, timeLeftMs / 2),
    workspace: workspace.name,
    outer: deps.signal,
  });
  const holder: LeaseHolder = { jobId, workspaceId: workspace.id, workspace: workspace.name, leaseId: randomUUID() };
  const result = (fields: Pick<WarmupWorkspaceResult, 'done' | 'cursor' | 'accountsSynced'> & Partial<WarmupWorkspaceResult>) => ({
    jobId,
    workspace,
    mode: 'warmup' as const,
    day,
    ...fields,
  });
  try {
    const claim = await waitForLease(deps, holder, timeLeftMs + LEASE_GRACE_MS, stop.signal);
    if (claim.kind === 'job-ended') {
      const note = `job ${jobId} had already ended (${claim.jobStatus}) when this invocation began: nothing was written. Redrive is not supported: start a new execution.`;
      return result({ done: true, cursor: null, accountsSynced: 0, jobEnded: { status: claim.jobStatus, note } });
    }
    if (claim.kind === 'held') return result({ done: false, cursor: savedCursor(claim.progress) ?? null, accountsSynced: 0 });
    try {
      return result(await walkWarmup(deps, input, holder, claim.progress, stop));
    } finally {
      await releaseLease(deps.sql, holder).catch(() => {});
    }
  } finally {
    stop.dispose();
  }
}

type WalkOutcome = Pick<WarmupWorkspaceResult, 'done' | 'cursor' | 'accountsSynced' | 'skipped'>;

async function walkWarmup(
  deps: WarmupWorkspaceDeps,
  input: WarmupWorkspaceInput,
  holder: LeaseHolder,
  progress: Progress,
  stop: ReturnType<typeof deadlineSignal>,
): Promise<WalkOutcome> {
  const { sql, client } = deps;
  const now = deps.now ?? Date.now;
  const { jobId, workspace, day } = input;
  const missing = noWarmupEndpoint(deps.host);
  // Another invocation (a retry that outlived its Lambda's invoke) ended it: its outcome stands.
  if (progress.status === 'skipped') return { done: true, cursor: null, accountsSynced: 0, skipped: missing };
  if (progress.status === 'synced' || progress.status === 'failed')
    return { done: true, cursor: null, accountsSynced: progress.accounts_synced };
  if (await instanceKnownWithout(sql, jobId, missing))
    return { done: true, cursor: null, accountsSynced: 0, skipped: await skip(sql, holder, missing) };

  const from = savedCursor(progress);
  const firstInvocation = progress.invocations === 0 || from === undefined;
  const bindingChecked = deps.beforeWalk?.({ firstInvocation });
  bindingChecked?.catch(() => {}); // awaited before every write

  let mode: WalkMode = from?.mode ?? 'page';
  let position: WalkCursor = from ?? walkStart('page');
  let walkPages = progress.walk_pages ?? 0;
  let walkItems = progress.walk_items ?? 0;
  let lastPage = progress.last_page ?? 0;
  let pagesRead = 0;
  let accountsRead = 0;
  let batch: WarmupRow[] = [];
  let statsAtSave: ClientStats = client.stats;

  const flush = async (next: WalkCursor | null) => {
    await bindingChecked;
    const rows = batch;
    const stats = client.stats;
    await sql.begin(async (tx) => {
      const written = await upsertWarmupRows(tx as unknown as Sql, { workspaceId: workspace.id, day, jobId }, rows);
      await saveCheckpoint(tx as unknown as Sql, holder, {
        cursor: next,
        mode: next?.mode ?? mode,
        lastPage,
        totalsSeen: [],
        walkPages,
        walkItems,
        walkMixed: false,
        walkCycle: null,
        accountsWritten: written,
        warnings: [],
        stats: statsSince(statsAtSave, stats),
      });
    });
    batch = batch.slice(rows.length);
    statsAtSave = stats;
  };
  const stoppedHere = async (): Promise<WalkOutcome> => {
    await flush(position);
    return { done: false, cursor: position, accountsSynced: await rowsForDay(sql, workspace.id, day) };
  };

  try {
    let stoppedEarly = false;
    for await (const step of client.listSenderEmails({ from: position, signal: stop.signal })) {
      if (step.kind === 'restart') {
        await flush(walkStart(step.mode));
        mode = step.mode;
        position = walkStart(step.mode);
        continue;
      }
      batch.push(...step.items.map(warmupRow));
      pagesRead += 1;
      accountsRead += step.items.length;
      walkPages += 1;
      walkItems += step.items.length + step.skipped.length;
      lastPage = Math.max(lastPage, step.lastPage ?? 0);
      mode = step.mode;
      if (step.next === null) break;
      position = step.next;
      if (batch.length >= deps.batchSize) await flush(position);
      if (stop.signal.aborted || now() >= input.deadlineMs - DEADLINE_MARGIN_MS) {
        stoppedEarly = true;
        break;
      }
      deps.onProgress?.({ workspace: workspace.name, page: step.page, lastPage: step.lastPage ?? walkPages, accountsRead });
    }
    if (stoppedEarly) return await stoppedHere();
    await flush(null);
    return { done: true, cursor: null, accountsSynced: await completeWarmup(sql, holder, day) };
  } catch (error) {
    await bindingChecked?.catch(() => {});
    const code = errorCode(error);
    if (code === 'SS_JOB_NOT_RUNNING' || code === 'SS_WORKSPACE_LEASE_LOST') throw error;
    if (stop.signal.aborted) return await stoppedHere();
    // The list's first page is not there: this instance has no warmup endpoint (the account
    // sync, not this pass, is what says a base URL is wrong).
    if (code === 'SS_EMAILBISON_NOT_FOUND' && pagesRead === 0 && walkPages === 0) {
      return { done: true, cursor: null, accountsSynced: 0, skipped: await skip(sql, holder, missing) };
    }
    await flush(position).catch(() => {});
    await recordAttemptError(sql, holder, redactSecrets(describeError(error), deps.secrets ?? [])).catch(() => {});
    throw error;
  }
}

function statsSince(before: ClientStats, after: ClientStats): Omit<ClientStats, 'items'> {
  return {
    requests: after.requests - before.requests,
    retries: after.retries - before.retries,
    pages: after.pages - before.pages,
    skippedItems: after.skippedItems - before.skippedItems,
    rateLimitWaitMs: after.rateLimitWaitMs - before.rateLimitWaitMs,
  };
}

async function rowsForDay(sql: Sql, workspaceId: number, day: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*)::int as n from sender_email_warmup_daily where workspace_id = ${workspaceId} and day = ${day}::date
  `;
  return n;
}

/** Another workspace of this job already found the instance without the list. */
async function instanceKnownWithout(sql: Sql, jobId: string, reason: string): Promise<boolean> {
  const [found] = await sql`
    select 1 from polling_job_workspaces where job_id = ${jobId} and status = 'skipped' and error = ${reason} limit 1
  `;
  return found !== undefined;
}

/** Ends the workspace `skipped` with the reason, if it is still this invocation's to write. */
async function skip(sql: Sql, holder: LeaseHolder, reason: string): Promise<string> {
  const rows = await sql`
    update polling_job_workspaces w set
      status = 'skipped', error = ${reason}, cursor = null, finished_at = now(),
      duration_ms = (extract(epoch from now() - w.started_at) * 1000)::int
    from polling_job_status j
    where w.job_id = ${holder.jobId} and w.workspace_id = ${holder.workspaceId} and w.lease_id = ${holder.leaseId}
      and j.id = w.job_id and j.status = 'running'
    returning 1
  `;
  if (rows.length === 0) throw await ownershipLost(sql, holder);
  return reason;
}

/** Ends a complete walk: the workspace synced, with the accounts that have figures for the day. */
async function completeWarmup(sql: Sql, holder: LeaseHolder, day: string): Promise<number> {
  const [row] = await sql<{ accounts_synced: number }[]>`
    update polling_job_workspaces w set
      status = 'synced',
      accounts_synced = (
        select count(*)::int from sender_email_warmup_daily where workspace_id = ${holder.workspaceId} and day = ${day}::date
      ),
      error = null,
      finished_at = now(),
      duration_ms = (extract(epoch from now() - w.started_at) * 1000)::int
    from polling_job_status j
    where w.job_id = ${holder.jobId} and w.workspace_id = ${holder.workspaceId} and w.lease_id = ${holder.leaseId}
      and j.id = w.job_id and j.status = 'running'
    returning w.accounts_synced
  `;
  if (!row) throw await ownershipLost(sql, holder);
  return row.accounts_synced;
}
