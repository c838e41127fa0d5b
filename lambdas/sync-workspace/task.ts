import { createEmailBisonClient } from '../emailbison/client';
import { createHostBudget, instanceHost } from '../emailbison/host-budget';
import { InvalidInputError } from '../errors';
import type { WorkspaceIdRef } from '../jobs/start-job';
import type { TaskDeps } from '../runtime/deps';
import { checkBindingForRun } from '../sync/binding-check';
import { syncWorkspace, type SyncWorkspaceResult } from '../sync/sync-workspace';
import { getWorkspace } from '../workspaces/registry';

export interface SyncWorkspaceEvent {
  jobId: string;
  /** From the Map, `{ id }`; from a previous call's cursor output, `{ id, name }`. */
  workspace: WorkspaceIdRef;
  cursor?: number | null;
}

/** Time kept back from the Lambda's own timeout, whatever the configured budget says. */
const LAMBDA_SAFETY_MS = 60_000;

export function createSyncWorkspaceTask(deps: TaskDeps) {
  return async (event: SyncWorkspaceEvent): Promise<SyncWorkspaceResult> => {
    if (!event?.jobId || !event.workspace || !Number.isInteger(event.workspace.id)) {
      throw new InvalidInputError('Sync workspace needs { jobId, workspace: { id } }.');
    }
    deps.log.setContext({ jobId: event.jobId, workspaceId: event.workspace.id });
    const workspace = await getWorkspace(deps.sql, event.workspace.id);
    deps.log.setContext({ workspace: workspace.name });
    const apiKey = await deps.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
    // One budget per invocation, as each Map iteration is its own Lambda: what they share is
    // the host's row in Postgres. Its waits are real time, never the tests' scaled-down sleep,
    // or the cap would not hold.
    const hostBudget = createHostBudget({
      sql: deps.sql,
      host: instanceHost(workspace.baseUrl),
      workspace: workspace.name,
      maxRps: deps.config.emailbisonMaxRps,
    });
    const client = createEmailBisonClient({
      workspace: workspace.name,
      baseUrl: workspace.baseUrl,
      apiKey,
      pageConcurrency: deps.config.pageConcurrency,
      maxAttempts: deps.config.maxAttempts,
      maxRetryWaitMs: deps.config.maxRetryWaitMs,
      ...deps.emailbison,
      hostBudget,
    });
    const start = deps.now();
    let deadlineMs = start + deps.config.syncBudgetSeconds * 1000;
    const remaining = deps.remainingTimeMs?.();
    if (remaining !== undefined) deadlineMs = Math.min(deadlineMs, start + remaining - LAMBDA_SAFETY_MS);
    try {
      // Once per run and workspace, at its first invocation (see checkBindingForRun).
      const binding = await checkBindingForRun(
        deps.sql,
        { jobId: event.jobId, workspace: { id: workspace.id, name: workspace.name } },
        { workspace: workspace.name, baseUrl: workspace.baseUrl, apiKey, hostBudget, ...deps.emailbison, signal: deps.signal },
      );
      if (binding?.warning) deps.log.warn(binding.warning);
      const result = await syncWorkspace(
        { sql: deps.sql, client, batchSize: deps.config.batchSize, now: deps.now, secrets: [apiKey], onProgress: deps.onSyncProgress, signal: deps.signal },
        { jobId: event.jobId, workspace: { id: workspace.id, name: workspace.name }, deadlineMs },
      );
      const stats = client.stats;
      deps.log.info(result.done ? 'workspace synced' : 'time budget reached: continuing from cursor', {
        cursor: result.cursor,
        accountsSynced: result.accountsSynced,
        pages: stats.pages,
        requests: stats.requests,
        retries: stats.retries,
        rateLimitWaitMs: Math.round(stats.rateLimitWaitMs),
      });
      if (result.done) deps.metrics.workspaceSynced({ accountsSynced: result.accountsSynced, rateLimitWaitMs: stats.rateLimitWaitMs });
      return result;
    } catch (error) {
      deps.log.error('workspace sync attempt failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      throw error;
    }
  };
}
