import { InvalidInputError } from '../errors';
import type { TaskDeps } from '../runtime/deps';
import { openWorkspaceClient } from '../sync-workspace/workspace-client';
import type { WorkspaceIdRef } from '../workspaces/ref';
import { getWorkspace } from '../workspaces/registry';
import { isWarmupDay } from './day';
import { WARMUP_LIST_PATH, type WarmupWorkspaceResult, warmupWorkspace } from './warmup-workspace';

/** Sync workspace's event in warmup mode: the Map item (or the previous call's output) with `mode` and `day`. */
export interface WarmupWorkspaceEvent {
  jobId: string;
  workspace: WorkspaceIdRef;
  mode: 'warmup';
  day: string;
}

/** Time kept back from the Lambda's own timeout, as the account sync keeps it. */
const LAMBDA_SAFETY_MS = 60_000;

/**
 * One workspace's warmup figures for the day (warmup-workspace.ts), with the account sync's
 * client options, request budget and key check: the Sync workspace Lambda runs it when the
 * run is a warmup pass.
 */
export function createWarmupWorkspaceTask(deps: TaskDeps) {
  return async (event: WarmupWorkspaceEvent): Promise<WarmupWorkspaceResult> => {
    if (!isWarmupDay(event.day)) throw new InvalidInputError('Sync workspace in warmup mode needs { day: "YYYY-MM-DD" }.');
    const { jobId, day } = event;
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
      deps.onEvent?.({ type: 'workspace-syncing', jobId, workspace: ref, cursor: null });
      const apiKey = await deps.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
      const { host, client, beforeWalk } = openWorkspaceClient(
        deps,
        { jobId, workspace, ref, apiKey },
        // The list is documented in page mode; `auto` still follows an instance that answers in cursors.
        { pagination: 'auto', list: { path: WARMUP_LIST_PATH, query: { start_date: day, end_date: day } } },
      );
      const onEvent = deps.onEvent;
      const result = await warmupWorkspace(
        {
          sql: deps.sql,
          client,
          host,
          batchSize: deps.config.batchSize,
          now: deps.now,
          secrets: [apiKey],
          beforeWalk,
          signal: deps.signal,
          onLeaseHeld: ({ leaseMsLeft }) => onEvent?.({ type: 'workspace-waiting', jobId, workspace: ref, leaseMsLeft }),
          onProgress: onEvent
            ? (p) =>
                onEvent({ type: 'page-synced', jobId, workspace: ref, page: p.page, lastPage: p.lastPage, accountsRead: p.accountsRead })
            : undefined,
        },
        { jobId, workspace: ref, day, deadlineMs, timeLeftMs: deadlineMs - start },
      );
      const stats = client.stats;
      if (result.jobEnded) {
        deps.log.warn('job already ended: nothing written', { jobStatus: result.jobEnded.status, note: result.jobEnded.note });
        deps.onEvent?.({ type: 'job-already-ended', jobId, status: result.jobEnded.status });
      } else if (result.skipped) {
        // Said once per instance and run: by the workspace whose request found it; the others skip without one.
        if (stats.requests > 0) deps.log.warn(`warmup figures not read on this instance: ${result.skipped}`, { host });
        else deps.log.info('skipped: its instance has no warmup endpoint', { host });
        deps.onEvent?.({ type: 'workspace-synced', jobId, workspace: ref, accountsSynced: 0 });
      } else if (result.done) {
        deps.log.info('warmup figures read', { day, accounts: result.accountsSynced, pages: stats.pages, requests: stats.requests });
        deps.metrics.workspaceSynced({ accountsSynced: result.accountsSynced, rateLimitWaitMs: stats.rateLimitWaitMs });
        deps.onEvent?.({ type: 'workspace-synced', jobId, workspace: ref, accountsSynced: result.accountsSynced });
      } else if (!deps.signal?.aborted) {
        deps.log.info('time budget reached: continuing from cursor', { cursor: result.cursor });
        deps.onEvent?.({ type: 'workspace-paused', jobId, workspace: ref, cursor: result.cursor, accountsSynced: result.accountsSynced });
      }
      return result;
    } catch (error) {
      const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
      deps.log.error('workspace warmup attempt failed', { error: `${name}: ${message}` });
      deps.onEvent?.({ type: 'workspace-attempt-failed', jobId, workspace: known, error: { name, message } });
      throw error;
    }
  };
}
