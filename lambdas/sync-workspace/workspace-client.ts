import type { EmailBisonPagination } from '../config/settings';
import { createEmailBisonClient, type EmailBisonClient } from '../emailbison/client';
import { createHostBudget, type HostBudget, instanceHost } from '../emailbison/host-budget';
import type { ListResource } from '../emailbison/page-request';
import type { TaskDeps } from '../runtime/deps';
import { checkBindingForRun } from '../sync/binding-check';
import type { Workspace } from '../workspaces/registry';

export interface WorkspaceClient {
  host: string;
  hostBudget: HostBudget;
  client: EmailBisonClient;
  /** Once per run and workspace, at its first invocation (see checkBindingForRun), once the workspace is this invocation's. */
  beforeWalk: (at: { firstInvocation: boolean }) => Promise<void>;
}

/**
 * What one invocation of Sync workspace walks with, in either mode (the account sync, the
 * warmup pass): the client with the configured limits, the instance's request budget and the
 * key-binding check. One budget per invocation, as each Map iteration is its own Lambda: what
 * they share is the host's row in Postgres.
 */
export function openWorkspaceClient(
  deps: TaskDeps,
  at: { jobId: string; workspace: Workspace; ref: { id: number; name: string }; apiKey: string },
  walk: { pagination: EmailBisonPagination; list?: ListResource },
): WorkspaceClient {
  const { jobId, workspace, ref, apiKey } = at;
  const host = instanceHost(workspace.baseUrl);
  const hostBudget = createHostBudget({ sql: deps.sql, host, workspace: workspace.name, maxRps: deps.config.emailbisonMaxRps });
  const client = createEmailBisonClient({
    workspace: workspace.name,
    baseUrl: workspace.baseUrl,
    apiKey,
    ...walk,
    pageConcurrency: deps.config.pageConcurrency,
    maxAttempts: deps.config.maxAttempts,
    maxRetryWaitMs: deps.config.maxRetryWaitMs,
    maxResponseBytes: deps.config.maxResponseBytes,
    requestTimeoutMs: deps.config.requestTimeoutMs,
    ...deps.emailbison,
    hostBudget,
  });
  const beforeWalk = async ({ firstInvocation }: { firstInvocation: boolean }) => {
    const binding = await checkBindingForRun(
      deps.sql,
      { jobId, workspace: ref, firstInvocation },
      { workspace: workspace.name, baseUrl: workspace.baseUrl, apiKey, hostBudget, ...deps.emailbison, signal: deps.signal },
    );
    if (binding?.warning) deps.log.warn(binding.warning);
  };
  return { host, hostBudget, client, beforeWalk };
}
