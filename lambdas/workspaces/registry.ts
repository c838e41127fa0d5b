import type { Sql } from '../db/client';
import { InvalidInputError, WorkspaceNotFoundError } from '../errors';
import { parseSecretReference } from '../secrets/resolve';
import { baseUrlProblem } from './validate';

export interface Workspace {
  id: number;
  name: string;
  baseUrl: string;
  emailbisonWorkspaceId: number | null;
  apiKeyRef: string;
  active: boolean;
  /** The replaced registry's label of the instance ('Long Run'), when imported from it; else null. */
  instanceLabel?: string | null;
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
           api_key_ref as "apiKeyRef", active, instance_label as "instanceLabel"
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
  /** Undefined keeps the row's label; null clears it. */
  instanceLabel?: string | null;
}

/** The registered workspace whose name matches regardless of case and surrounding spaces, if any. */
export async function findWorkspaceByName(sql: Sql, name: string): Promise<Workspace | undefined> {
  const [row] = await sql<Workspace[]>`
    select id, name, base_url as "baseUrl", emailbison_workspace_id as "emailbisonWorkspaceId",
           api_key_ref as "apiKeyRef", active
    from workspaces where lower(name) = lower(${name.trim()})
  `;
  return row;
}

/**
 * Adds a workspace, or updates the one of that name (base URL, key reference, active).
 * Names are unique regardless of case (migration 008): a name that differs from a
 * registered one only in case is refused, not registered beside it nor renaming it.
 */
export async function upsertWorkspace(sql: Sql, workspace: NewWorkspace): Promise<Workspace> {
  const name = workspace.name.trim();
  // The CLI refuses names with control characters or over 200 characters from an operator
  // (validate.ts); names registered from elsewhere (the simulator's hostile scenario) are
  // stored verbatim.
  if (!name) throw new InvalidInputError('A workspace needs a name.');
  const urlProblem = baseUrlProblem(workspace.baseUrl);
  if (urlProblem) throw new InvalidInputError(`Workspace "${name}": ${urlProblem}.`, { workspace: name });
  parseSecretReference(workspace.apiKeyRef, `API key of workspace "${name}"`);
  const label = workspace.instanceLabel?.trim() || null;
  const [row] = await sql<Workspace[]>`
    insert into workspaces (name, base_url, api_key_ref, emailbison_workspace_id, active, instance_label)
    values (${name}, ${workspace.baseUrl.trim().replace(/\/+$/, '')}, ${workspace.apiKeyRef}, ${workspace.emailbisonWorkspaceId ?? null}, ${workspace.active ?? true}, ${label})
    on conflict ((lower(name))) do update set
      base_url = excluded.base_url,
      api_key_ref = excluded.api_key_ref,
      emailbison_workspace_id = coalesce(excluded.emailbison_workspace_id, workspaces.emailbison_workspace_id),
      active = excluded.active,
      -- Left out: the row's label stays while it stays on its instance; moved to another
      -- base URL, the old instance's label no longer names it.
      instance_label = ${
        workspace.instanceLabel === undefined
          ? sql`case when excluded.base_url = workspaces.base_url then workspaces.instance_label end`
          : sql`excluded.instance_label`
      }
    where workspaces.name = excluded.name
    returning id, name, base_url as "baseUrl", emailbison_workspace_id as "emailbisonWorkspaceId",
              api_key_ref as "apiKeyRef", active, instance_label as "instanceLabel"
  `;
  if (!row) throw nameTaken(name, (await findWorkspaceByName(sql, name))?.name);
  return row;
}

export function nameTaken(name: string, registered: string | undefined): InvalidInputError {
  return new InvalidInputError(
    `"${name}" is already registered as "${registered ?? name}" (names are unique regardless of case); use that name to update it.`,
    { workspace: name },
  );
}

/** Deactivates a workspace: its accounts and history stay; it is no longer synced. */
export async function deactivateWorkspace(sql: Sql, name: string): Promise<void> {
  const result = await sql`update workspaces set active = false where lower(name) = lower(${name.trim()})`;
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
