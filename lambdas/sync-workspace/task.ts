import type { WalkCursor } from '../emailbison/client';
import { requestEventLogPage } from '../emailbison/event-log';
import { InvalidInputError } from '../errors';
import type { WorkspaceIdRef } from '../workspaces/ref';
import type { TaskDeps } from '../runtime/deps';
import { recoverMissedEvents } from '../sync/event-log';
import { syncWorkspace, type SyncWorkspaceResult } from '../sync/sync-workspace';
import { getWorkspace } from '../workspaces/registry';
import { createWarmupWorkspaceTask, type WarmupWorkspaceEvent } from '../warmup/task';
import type { WarmupWorkspaceResult } from '../warmup/warmup-workspace';
import { openWorkspaceClient } from './workspace-client';

export interface SyncWorkspaceEvent {
  jobId: string;
  /** From the Map, `{ id }`; from a previous call's cursor output, `{ id, name }`. */
  workspace: WorkspaceIdRef;
  /**
   * The previous call's cursor (a page number or an opaque cursor token), for the record: the
   * sync resumes from the cursor saved in Postgres, which a retried call may have moved on.
   */
  cursor?: WalkCursor | null;
  /** The run's mode (Start job's output, through the Map item): absent or `sync` for the account sync. */
  mode?: 'sync' | 'warmup';
  /** Warmup mode: the UTC day whose figures are read (YYYY-MM-DD). */
  day?: string | null;
}

/** Time kept back from the Lambda's own timeout, whatever the configured budget says. */
const LAMBDA_SAFETY_MS = 60_000;

export function createSyncWorkspaceTask(deps: TaskDeps) {
  const warmup = createWarmupWorkspaceTask(deps);
  return async (event: SyncWorkspaceEvent): Promise<SyncWorkspaceResult | WarmupWorkspaceResult> => {
    if (!event?.jobId || !event.workspace || !Number.isInteger(event.workspace.id)) {
      throw new InvalidInputError('Sync workspace needs { jobId, workspace: { id } }.');
    }
    // The daily warmup pass runs the same state machine: its items carry mode and day.
    if (event.mode === 'warmup') return warmup(event as WarmupWorkspaceEvent);
    if (event.mode !== undefined && event.mode !== null && event.mode !== 'sync') {
      throw new InvalidInputError('Sync workspace: mode must be "sync" or "warmup".');
    }
    const { jobId } = event;
    deps.log.setContext({ jobId, workspaceId: event.workspace.id });
    let known: WorkspaceIdRef = event.workspace;
    const start = deps.now();
    let deadlineMs = start + deps.config.syncBudgetSeconds * 1000;
    const remaining = deps.remainingTimeMs?.();
    if (remaining !== undefined) deadlineMs = Math.min(deadlineMs, start + remaining - LAMBDA_SAFETY_MS);
    try {
      const workspace = await getWorkspace(deps.sql, event.workspace.id);
      const ref = { id: workspace.id, name: workspace.name };
      known = ref;
      deps.log.setContext({ workspace: workspace.name });
      deps.onEvent?.({ type: 'workspace-syncing', jobId, workspace: ref, cursor: event.cursor ?? null });
      const apiKey = await deps.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
      // Its budget's waits are real time, never the tests' scaled-down sleep, or the cap would not hold.
      const { host, hostBudget, client, beforeWalk } = openWorkspaceClient(
        deps,
        { jobId, workspace, ref, apiKey },
        { pagination: deps.config.emailbisonPagination },
      );
      // The workspace's missed events (lambdas/sync/event-log.ts), through the same host budget; its requests count as the job's.
      const recoverEvents = async ({ signal }: { signal: AbortSignal }) => {
        const stats = { requests: 0 };
        const recovered = await recoverMissedEvents(
          {
            sql: deps.sql,
            host,
            maxPages: deps.config.eventLogMaxPages,
            // The window's dates are calendar days at the instance, on the wall clock: deps.now is the deadline's clock.
            signal,
            requestPage: (query) =>
              requestEventLogPage(
                {
                  workspace: workspace.name,
                  baseUrl: workspace.baseUrl,
                  apiKey,
                  hostBudget,
                  maxResponseBytes: deps.config.maxResponseBytes,
                  requestTimeoutMs: deps.config.requestTimeoutMs,
                  ...deps.emailbison,
                  maxAttempts: Math.min(3, deps.config.maxAttempts),
                  signal,
                  stats,
                },
                query,
              ),
          },
          { jobId, workspace: ref },
        ).finally(async () => {
          if (stats.requests === 0) return;
          await deps.sql`
            update polling_job_workspaces set api_requests = api_requests + ${stats.requests}
            where job_id = ${jobId} and workspace_id = ${ref.id}
          `.catch(() => {});
        });
        for (const warning of recovered.warnings) deps.log.warn(`event log: ${warning}`);
        if (recovered.read > 0)
          deps.log.info('event log read', { pages: recovered.pages, events: recovered.read, applied: recovered.applied });
      };
      const onLeaseHeld = ({ leaseMsLeft }: { leaseMsLeft: number }) => {
        deps.log.info('another invocation holds this workspace: waiting for it', { leaseMsLeft: Math.round(leaseMsLeft) });
        deps.onEvent?.({ type: 'workspace-waiting', jobId, workspace: ref, leaseMsLeft });
      };
      const onEvent = deps.onEvent;
      const onProgress = onEvent
        ? (p: { page: number; lastPage: number; accountsRead: number }) =>
            onEvent({ type: 'page-synced', jobId, workspace: ref, page: p.page, lastPage: p.lastPage, accountsRead: p.accountsRead })
        : undefined;
      const result = await syncWorkspace(
        {
          sql: deps.sql,
          client,
          batchSize: deps.config.batchSize,
          now: deps.now,
          secrets: [apiKey],
          pagination: deps.config.emailbisonPagination,
          maxStalePages: deps.config.maxStalePages,
          onProgress,
          onLeaseHeld,
          beforeWalk,
          recoverEvents: deps.config.eventLog ? recoverEvents : undefined,
          signal: deps.signal,
        },
        { jobId, workspace: ref, deadlineMs, timeLeftMs: deadlineMs - start },
      );
      if (result.jobEnded) {
        deps.log.warn('job already ended: nothing written', { jobStatus: result.jobEnded.status, note: result.jobEnded.note });
        deps.onEvent?.({ type: 'job-already-ended', jobId, status: result.jobEnded.status });
        return result;
      }
      const stats = client.stats;
      // Stopped by the caller's signal (a local run's Ctrl-C), not by its time budget: the run is ending.
      const stopped = !result.done && deps.signal?.aborted === true;
      const outcome = result.done ? 'workspace synced' : stopped ? 'stopped: cursor saved' : 'time budget reached: continuing from cursor';
      deps.log.info(outcome, {
        cursor: result.cursor,
        accountsSynced: result.accountsSynced,
        pages: stats.pages,
        requests: stats.requests,
        retries: stats.retries,
        rateLimitWaitMs: Math.round(stats.rateLimitWaitMs),
      });
      if (result.done) {
        deps.metrics.workspaceSynced({ accountsSynced: result.accountsSynced, rateLimitWaitMs: stats.rateLimitWaitMs });
        deps.onEvent?.({ type: 'workspace-synced', jobId, workspace: ref, accountsSynced: result.accountsSynced });
      } else if (!stopped) {
        deps.onEvent?.({ type: 'workspace-paused', jobId, workspace: ref, cursor: result.cursor, accountsSynced: result.accountsSynced });
      }
      return result;
    } catch (error) {
      const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
      deps.log.error('workspace sync attempt failed', { error: `${name}: ${message}` });
      deps.onEvent?.({ type: 'workspace-attempt-failed', jobId, workspace: known, error: { name, message } });
      throw error;
    }
  };
}
