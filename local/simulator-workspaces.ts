import type { Sql } from '../lambdas/db/client';
import { upsertWorkspace } from '../lambdas/workspaces/registry';
import type { EmailBisonSim } from '../sim/server';

/**
 * Registers the simulator's workspaces. Their keys never enter Postgres: each row
 * holds `env:<VARIABLE>` and the returned map supplies the variables to the secret
 * resolver of this process only.
 */
export const SIM_KEY_PREFIX = 'SENDER_SYNC_SIM_KEY_';

export async function registerSimulatorWorkspaces(
  sql: Sql,
  sim: EmailBisonSim,
  options: { only?: string[] } = {},
): Promise<{ env: Record<string, string>; names: string[] }> {
  const env: Record<string, string> = {};
  const names: string[] = [];
  for (const workspace of sim.workspaces()) {
    if (options.only && !options.only.includes(workspace.name)) continue;
    const variable = `${SIM_KEY_PREFIX}${workspace.id}`;
    env[variable] = workspace.apiKey;
    await upsertWorkspace(sql, {
      name: workspace.name,
      baseUrl: sim.url,
      apiKeyRef: `env:${variable}`,
      emailbisonWorkspaceId: workspace.id,
    });
    names.push(workspace.name);
  }
  return { env, names };
}

/** Workspaces registered for real use: any whose key is not a simulator's. */
export async function countRealWorkspaces(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from workspaces where active and api_key_ref not like ${`env:${SIM_KEY_PREFIX}%`}
  `;
  return row.n;
}
