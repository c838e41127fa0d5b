import type { Sql } from '../db/client';
import { checkKeyBinding, type CheckKeyBindingOptions } from '../emailbison/key-binding';
import { verifyBinding, type VerifiedBinding } from '../workspaces/binding';

/**
 * The run's check of a workspace's key, before anything of it is read or written: a key
 * bound to another EmailBison workspace throws `KeyBoundElsewhereError` (the workspace
 * fails, nothing is written, nothing removed); an instance that cannot say which workspace
 * the key reads lets the sync go on, with a warning on the workspace's row of the job.
 */
export async function checkBindingForRun(
  sql: Sql,
  input: { jobId: string; workspace: { id: number; name: string } },
  request: CheckKeyBindingOptions,
): Promise<VerifiedBinding> {
  const binding = await checkKeyBinding(request);
  const verified = await verifyBinding(sql, input.workspace, binding);
  if (verified.warning) {
    await sql`
      update polling_job_workspaces set warnings = warnings || ${[verified.warning]}::text[]
      where job_id = ${input.jobId} and workspace_id = ${input.workspace.id} and status in ('pending', 'running')
    `;
  }
  return verified;
}
