import type { Sql } from '../db/client';
import { InvalidInputError } from '../errors';
import { WorkspaceNotFoundError } from './errors';
import { parseSecretReference } from '../secrets/resolve';

export interface Workspace {
  id: number;
  name: string;
  baseUrl: string;
  emailbisonWorkspaceId: number | null;
  apiKeyRef: string;
  active: boolean;
}

export async function getWorkspace(sql: Sql, id: number): Promise<Workspace> {
  const [row] = await sql<Workspace[]>`
    select id, name, base_url as "baseUrl", emailbison_workspace_id as "emailbisonWorkspaceId",
           api_key_ref as "apiKeyRef", active
    from workspaces where id = ${id}
  `;
  if (!row) throw new WorkspaceNotFoundError(`No workspace with id ${id} is registered.`);
  return row;
}

export async function listWorkspaces(sql: Sql, options: { activeOnly?: boolean } = {}): Promise<Workspace[]> {
  return sql<Workspace[]>`
    select id, name, base_url as "baseUrl", emailbison_workspace_id as "emailbisonWorkspaceId",
           api_key_ref as "apiKeyRef", active
    from workspaces
    where ${options.activeOnly ? sql`active` : sql`true`}
    order by name
  `;
}

export interface NewWorkspace {
  name: string;
  baseUrl: string;
  apiKeyRef: string;
  emailbisonWorkspaceId?: number | null;
  active?: boolean;
}

/** Adds a workspace, or updates the one of that name (base URL, key reference, active). */
export async function upsertWorkspace(sql: Sql, workspace: NewWorkspace): Promise<Workspace> {
  const name = workspace.name.trim();
  if (!name) throw new InvalidInputError('A workspace needs a name.');
  if (!/^https?:\/\/[^\s]+$/i.test(workspace.baseUrl)) {
    throw new InvalidInputError(`Workspace "${name}": base URL must start with http:// or https://.`, { workspace: name });
  }
  parseSecretReference(workspace.apiKeyRef, `API key of workspace "${name}"`);
  const [row] = await sql<Workspace[]>`
    insert into workspaces (name, base_url, api_key_ref, emailbison_workspace_id, active)
    values (${name}, ${workspace.baseUrl.replace(/\/+$/, '')}, ${workspace.apiKeyRef}, ${workspace.emailbisonWorkspaceId ?? null}, ${workspace.active ?? true})
    on conflict (name) do update set
      base_url = excluded.base_url,
      api_key_ref = excluded.api_key_ref,
      emailbison_workspace_id = coalesce(excluded.emailbison_workspace_id, workspaces.emailbison_workspace_id),
      active = excluded.active
    returning id, name, base_url as "baseUrl", emailbison_workspace_id as "emailbisonWorkspaceId",
              api_key_ref as "apiKeyRef", active
  `;
  return row;
}

/** Deactivates a workspace: its accounts and history stay; it is no longer synced. */
export async function deactivateWorkspace(sql: Sql, name: string): Promise<void> {
  const result = await sql`update workspaces set active = false where name = ${name}`;
  if (result.count === 0) throw new WorkspaceNotFoundError(`No workspace named "${name}" is registered.`, { workspace: name });
}

/**
 * Names by id, read once on first use: for callers that see a workspace only by the id
 * the state machine carries and want to show its name (the local run's progress lines).
 */
export function workspaceNameLookup(sql: Sql): (ref: { id: number; name?: string }) => Promise<string> {
  let names: Promise<Map<number, string>> | undefined;
  return async (ref) => {
    if (ref.name) return ref.name;
    names ??= sql<{ id: number; name: string }[]>`select id, name from workspaces`.then((rows) => new Map(rows.map((r) => [r.id, r.name])));
    return (await names).get(ref.id) ?? `workspace ${ref.id}`;
  };
}
