import type { Sql } from '../db/client';
import { checkKeyBinding, type CheckKeyBindingOptions } from '../emailbison/key-binding';
import { verifyBinding, type VerifiedBinding } from '../workspaces/binding';

/**
 * The run's check of a workspace's key, once: at the workspace's first invocation of the job
 * (`firstInvocation`, as the sync's claim of the workspace counted it; a cursor-loop
 * continuation or a retry after a crash mid-walk skips it, returning undefined), before
 * anything of it is read or written. A key
 * bound to another EmailBison workspace throws `KeyBoundElsewhereError` (the workspace
 * fails, nothing is written, nothing removed); an instance that cannot say which workspace
 * the key reads lets the sync go on, with a warning on the workspace's row of the job.
 */
export async function checkBindingForRun(
  sql: Sql,
  input: { jobId: string; workspace: { id: number; name: string }; firstInvocation: boolean },
  request: CheckKeyBindingOptions,
): Promise<VerifiedBinding | undefined> {
  if (!input.firstInvocation) return undefined;
  const stats = { requests: 0 };
  let binding: Awaited<ReturnType<typeof checkKeyBinding>>;
  try {
    binding = await checkKeyBinding({ ...request, stats });
  } finally {
    if (stats.requests > 0) {
      // Bookkeeping only: its failure must not replace the check's own error.
      await sql`
        update polling_job_workspaces set api_requests = api_requests + ${stats.requests}
        where job_id = ${input.jobId} and workspace_id = ${input.workspace.id}
      `.catch(() => {});
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
