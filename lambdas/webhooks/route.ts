import type { Sql } from '../db/client';
import type { AccountEvent } from './event';
import { workspaceTokenMatches, type DeliveryTarget } from './token';

/*
 * Which registered workspace a delivery is for. Every subscription URL names its workspace
 * and carries that workspace's own token (token.ts); there is no shared path. Two checks:
 * - targetOf(path, secret), before anything else and without Postgres: the path's token
 *   must be the one for the workspace and EmailBison workspace the path names (else 404,
 *   the same answer for every wrong path, so nothing says which part was wrong);
 * - routeDelivery(sql, target, event), before applying: the workspace still exists, is
 *   active and still records the EmailBison workspace the URL was made for (a key replaced
 *   by another workspace's makes its old URL stale: 409).
 * The event's own workspace_id is checked against the path by validateDelivery (validate.ts).
 */

const PATH = /^\/emailbison\/([1-9]\d{0,15})\/([1-9]\d{0,15})\/([A-Za-z0-9_-]{1,128})\/?$/;

/** The workspace a path's token opens, or undefined (answer 404). */
export function targetOf(path: string, masterSecret: string): DeliveryTarget | undefined {
  const match = PATH.exec(path.split('?')[0]);
  if (!match) return undefined;
  const target = { workspaceId: Number(match[1]), emailbisonWorkspaceId: Number(match[2]) };
  if (!Number.isSafeInteger(target.workspaceId) || !Number.isSafeInteger(target.emailbisonWorkspaceId)) return undefined;
  return workspaceTokenMatches(masterSecret, target, match[3]) ? target : undefined;
}

export type Routed =
  | { found: true; workspaceId: number; workspace: string }
  /** `unknown`: no such active workspace; `mismatch`: it no longer reads the EmailBison workspace of the URL. */
  | { found: false; problem: 'unknown' | 'mismatch'; reason: string };

export async function routeDelivery(sql: Sql, target: DeliveryTarget, event: AccountEvent): Promise<Routed> {
  const [row] = await sql<{ id: number; name: string; active: boolean; emailbison_workspace_id: string | number | null }[]>`
    select id, name, active, emailbison_workspace_id from workspaces where id = ${target.workspaceId}
  `;
  if (!row?.active) return { found: false, problem: 'unknown', reason: `no active workspace has id ${target.workspaceId}` };
  const recorded = row.emailbison_workspace_id === null ? null : Number(row.emailbison_workspace_id);
  // A subscription of workspace A that receives B's events would file B's accounts under A.
  if (recorded !== target.emailbisonWorkspaceId || event.emailbisonWorkspaceId !== recorded) {
    return {
      found: false,
      problem: 'mismatch',
      reason: `workspace ${row.id} records EmailBison workspace ${recorded ?? '(none)'}; the URL was made for ${target.emailbisonWorkspaceId} and the event is of ${event.emailbisonWorkspaceId ?? '(none)'} (run \`sender-sync webhooks register\` again after a key changes)`,
    };
  }
  return { found: true, workspaceId: row.id, workspace: row.name };
}
