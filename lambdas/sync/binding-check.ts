import type { Sql } from '../db/client';
import { checkKeyBinding, type CheckKeyBindingOptions } from '../emailbison/key-binding';
import { verifyBinding, type VerifiedBinding } from '../workspaces/binding';

/**
 * Whether this is the workspace's first Sync workspace invocation of the job: the one that
 * checks the key's binding (a cursor-loop continuation or a retry after a crash mid-walk
 * does not). Asked before the invocation is counted.
 */
export async function isFirstInvocation(sql: Sql, jobId: string, workspaceId: number): Promise<boolean> {
  const [progress] = await sql<{ invocations: number }[]>`
    select invocations from polling_job_workspaces where job_id = ${jobId} and workspace_id = ${workspaceId}
  `;
  return !progress || progress.invocations === 0;
}

/**
 * The run's check of a workspace's key, at its first invocation (isFirstInvocation), before
 * anything of it is written. A key
 * bound to another EmailBison workspace throws `KeyBoundElsewhereError` (the workspace
 * fails, nothing is written, nothing removed); an instance that cannot say which workspace
 * the key reads lets the sync go on, with a warning on the workspace's row of the job.
 */
export async function checkBindingForRun(
  sql: Sql,
  input: { jobId: string; workspace: { id: number; name: string } },
  request: CheckKeyBindingOptions,
): Promise<VerifiedBinding> {
  const stats = { requests: 0 };
  let binding;
  try {
    binding = await checkKeyBinding({ ...request, stats });
  } finally {
    if (stats.requests > 0) {
      await sql`
        update polling_job_workspaces set api_requests = api_requests + ${stats.requests}
        where job_id = ${input.jobId} and workspace_id = ${input.workspace.id}
      `;
    }
  }
  const verified = await verifyBinding(sql, input.workspace, binding);
  if (verified.warning) {
    await sql`
      update polling_job_workspaces set warnings = warnings || ${[verified.warning]}::text[]
      where job_id = ${input.jobId} and workspace_id = ${input.workspace.id} and status in ('pending', 'running')
    `;
  }
  return verified;
}
