import type { Sql } from '../db/client';
import type { AccountEvent } from './event';

/*
 * Which registered workspace a delivery is for. Each workspace's subscription carries its
 * sender-sync id in the path (`webhooks register`), so routing never depends on the
 * instance's host name. A delivery to the bare path is matched by the event's
 * workspace_id against the EmailBison workspace each row's key reads (the key binding
 * recorded by lambdas/workspaces/binding.ts), and by instance URL when two instances
 * have a workspace of that id.
 */

export type Routed =
  | { found: true; workspaceId: number; workspace: string }
  /** `unknown`: no such sender-sync workspace; `mismatch`: the event is another EmailBison workspace's; `unroutable`: no or several matches. */
  | { found: false; problem: 'unknown' | 'mismatch' | 'unroutable'; reason: string };

interface Candidate {
  id: number;
  name: string;
  base_url: string;
  emailbison_workspace_id: number | null;
}

export async function routeDelivery(sql: Sql, pathWorkspaceId: number | undefined, event: AccountEvent): Promise<Routed> {
  if (pathWorkspaceId !== undefined) {
    const [row] = await sql<Candidate[]>`
      select id, name, base_url, emailbison_workspace_id from workspaces where id = ${pathWorkspaceId}
    `;
    if (!row) return { found: false, problem: 'unknown', reason: 'no workspace has the id in the path' };
    // A subscription of workspace A that receives B's events would file B's accounts under A.
    if (
      row.emailbison_workspace_id !== null &&
      event.emailbisonWorkspaceId !== null &&
      row.emailbison_workspace_id !== event.emailbisonWorkspaceId
    ) {
      return {
        found: false,
        problem: 'mismatch',
        reason: `the event is of EmailBison workspace ${event.emailbisonWorkspaceId}; workspace ${row.id}'s key reads ${row.emailbison_workspace_id}`,
      };
    }
    return { found: true, workspaceId: row.id, workspace: row.name };
  }
  if (event.emailbisonWorkspaceId === null) {
    return { found: false, problem: 'unroutable', reason: 'a delivery to the bare path needs event.workspace_id' };
  }
  const rows = await sql<Candidate[]>`
    select id, name, base_url, emailbison_workspace_id from workspaces
    where active and emailbison_workspace_id = ${event.emailbisonWorkspaceId}
    order by id
  `;
  const matches = rows.length > 1 ? rows.filter((row) => sameOrigin(row.base_url, event.instanceUrl)) : rows;
  if (matches.length === 1) return { found: true, workspaceId: matches[0].id, workspace: matches[0].name };
  return {
    found: false,
    problem: 'unroutable',
    reason:
      matches.length === 0 && rows.length === 0
        ? `no active workspace records EmailBison workspace ${event.emailbisonWorkspaceId} (check-keys records it)`
        : `several workspaces record EmailBison workspace ${event.emailbisonWorkspaceId} and the instance URL does not tell them apart`,
  };
}

function sameOrigin(baseUrl: string, instanceUrl: string | null): boolean {
  if (!instanceUrl) return false;
  try {
    return new URL(baseUrl).origin === new URL(instanceUrl).origin;
  } catch {
    return false;
  }
}
