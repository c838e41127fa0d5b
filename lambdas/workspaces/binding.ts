import type { Sql } from '../db/client';
import { KeyBoundElsewhereError } from '../errors';
import type { KeyBinding } from '../emailbison/key-binding';

/*
 * What the registry knows of each key's binding (workspaces.emailbison_workspace_id,
 * emailbison_workspace_name, binding_checked_at) and how a fresh answer from
 * GET /api/users is held against it. The sync checks once per run and workspace; the
 * CLI (workspaces add/import, check-keys) uses the same functions.
 */

export type BoundWorkspace = Extract<KeyBinding, { status: 'bound' }>;

/** Records the EmailBison workspace the row's key reads, and when that was checked. */
export async function recordBinding(sql: Sql, workspaceId: number, binding: BoundWorkspace): Promise<void> {
  await sql`
    update workspaces set
      emailbison_workspace_id = ${binding.id},
      emailbison_workspace_name = ${binding.name},
      binding_checked_at = now()
    where id = ${workspaceId}
  `;
}

export interface VerifiedBinding {
  /** `recorded`: the row had no binding and now has this one; `matches`: as recorded; `unknown`: not checked. */
  outcome: 'recorded' | 'matches' | 'unknown';
  /** For `unknown`: why, fit for the workspace's warnings. */
  warning?: string;
}

/**
 * Holds a key's binding against its row: a row with no recorded EmailBison workspace gets
 * this one, unless another registered workspace of the same instance already holds it (two
 * rows would then sync one EmailBison workspace); a row that recorded another one is the
 * wrong key. Both throw `KeyBoundElsewhereError` (never retried) and write nothing.
 */
export async function verifyBinding(sql: Sql, workspace: { id: number; name: string }, binding: KeyBinding): Promise<VerifiedBinding> {
  if (binding.status === 'unknown') {
    return { outcome: 'unknown', warning: `API key binding not checked: ${binding.reason}` };
  }
  const [row] = await sql<{ recorded: number | null; base_url: string }[]>`
    select emailbison_workspace_id as recorded, base_url from workspaces where id = ${workspace.id}
  `;
  const boundTo = { id: binding.id, name: binding.name };
  if (row?.recorded != null && row.recorded !== binding.id) {
    throw new KeyBoundElsewhereError({ workspace: workspace.name, status: 200, boundTo });
  }
  if (row?.recorded == null) {
    const [holder] = await sql<{ name: string }[]>`
      select name from workspaces
      where base_url = ${row?.base_url ?? ''} and emailbison_workspace_id = ${binding.id} and id <> ${workspace.id} and active
      order by name limit 1
    `;
    if (holder) throw new KeyBoundElsewhereError({ workspace: workspace.name, status: 200, boundTo });
  }
  await recordBinding(sql, workspace.id, binding);
  return { outcome: row?.recorded == null ? 'recorded' : 'matches' };
}

export type BindingConflict =
  /** Two or more registered workspaces whose keys read the same EmailBison workspace. */
  | { kind: 'shared'; baseUrl: string; emailbisonWorkspaceId: number; workspaces: string[] }
  /** A row whose key reads another EmailBison workspace than the one recorded for it. */
  | { kind: 'mismatch'; workspace: string; recordedId: number; bound: { id: number; name: string } };

/**
 * Bindings that would mix workspaces up. `checked` are fresh answers (e.g. check-keys
 * asked every key); a workspace not in it counts with its recorded binding. Inactive
 * workspaces are left out: they are not synced.
 */
export async function findBindingConflicts(
  sql: Sql,
  checked: { workspaceId: number; binding: KeyBinding }[] = [],
): Promise<BindingConflict[]> {
  const rows = await sql<{ id: number; name: string; base_url: string; recorded: number | null }[]>`
    select id, name, base_url, emailbison_workspace_id as recorded
    from workspaces where active order by name
  `;
  const fresh = new Map(checked.map((c) => [c.workspaceId, c.binding]));
  const conflicts: BindingConflict[] = [];
  const holders = new Map<string, { baseUrl: string; id: number; names: string[] }>();
  for (const row of rows) {
    const binding = fresh.get(row.id);
    let boundId = row.recorded;
    if (binding?.status === 'bound') {
      if (row.recorded != null && row.recorded !== binding.id) {
        conflicts.push({ kind: 'mismatch', workspace: row.name, recordedId: row.recorded, bound: { id: binding.id, name: binding.name } });
      }
      boundId = binding.id;
    }
    if (boundId == null) continue;
    const key = `${row.base_url} ${boundId}`;
    const holder = holders.get(key) ?? { baseUrl: row.base_url, id: boundId, names: [] };
    holder.names.push(row.name);
    holders.set(key, holder);
  }
  for (const holder of holders.values()) {
    if (holder.names.length > 1)
      conflicts.push({ kind: 'shared', baseUrl: holder.baseUrl, emailbisonWorkspaceId: holder.id, workspaces: holder.names });
  }
  return conflicts;
}
