import type { Sql } from '../lambdas/db/client';
import { SimulatorNotRunningError } from '../lambdas/errors';
import { upsertWorkspace } from '../lambdas/workspaces/registry';
import type { EmailBisonSim } from '../sim/server';
import { isListening } from './listening';
import { writeLocalSecrets } from './secrets-file';

/**
 * Registers the simulator's workspaces. Their keys never enter Postgres: each row
 * holds `file:sim:<name>`, and the keys go to the git-ignored local secrets file.
 */
export const SIM_KEY_PREFIX = 'sim:';

/** Where `npm run emailbison-sim` listens, and where simulated workspaces point between runs. */
export const SIMULATOR_DEFAULT_PORT = 4010;

export function simulatorUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export async function registerSimulatorWorkspaces(
  sql: Sql,
  sim: EmailBisonSim,
  options: { secretsFile: string; only?: string[] },
): Promise<{ names: string[] }> {
  const keys: Record<string, string> = {};
  const names: string[] = [];
  for (const workspace of sim.workspaces()) {
    if (options.only && !options.only.includes(workspace.name)) continue;
    keys[`${SIM_KEY_PREFIX}${workspace.name}`] = workspace.apiKey;
    names.push(workspace.name);
  }
  await writeLocalSecrets(options.secretsFile, keys);
  // At once, over the pool: one at a time, 26 round trips stood between `npm start` and its first request.
  await Promise.all(
    sim
      .workspaces()
      .filter((workspace) => names.includes(workspace.name))
      .map((workspace) =>
        upsertWorkspace(sql, {
          name: workspace.name,
          baseUrl: sim.url,
          apiKeyRef: `file:${SIM_KEY_PREFIX}${workspace.name}`,
          emailbisonWorkspaceId: workspace.id,
        }),
      ),
  );
  return { names };
}

const SIM_REF_PATTERN = `file:${SIM_KEY_PREFIX}%`;

/** Workspaces registered for real use: any whose key is not a simulator's. */
export async function countRealWorkspaces(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from workspaces where active and api_key_ref not like ${SIM_REF_PATTERN}
  `;
  return row.n;
}

/** Once real workspaces are registered, the simulator's stop being synced. */
export async function deactivateSimulatorWorkspaces(sql: Sql): Promise<number> {
  const result = await sql`update workspaces set active = false where active and api_key_ref like ${SIM_REF_PATTERN}`;
  return result.count;
}

/** Re-points the simulated workspaces registered at `from` to `to`; returns how many. */
export async function pointSimulatorWorkspacesAt(sql: Sql, target: { from: string; to: string }): Promise<number> {
  const result = await sql`
    update workspaces set base_url = ${target.to} where base_url = ${target.from} and api_key_ref like ${SIM_REF_PATTERN}
  `;
  return result.count;
}

/** Whether a workspace's key is a simulator's (registered by a local run, not by a person). */
export function isSimulatorWorkspace(workspace: { apiKeyRef: string }): boolean {
  return workspace.apiKeyRef.startsWith(`file:${SIM_KEY_PREFIX}`);
}

/**
 * For commands that call EmailBison for registered workspaces (check-keys, webhooks
 * register and list): when every one is simulated and nothing listens where they point,
 * one line saying so and how to start the simulator, instead of each request failing
 * through its retries (26 x UNREACHABLE after 30 s). At most 1 s per address.
 */
export async function requireSimulator(workspaces: { baseUrl: string; apiKeyRef: string }[]): Promise<void> {
  if (workspaces.length === 0 || !workspaces.every(isSimulatorWorkspace)) return;
  const addresses = [...new Set(workspaces.map((w) => w.baseUrl))];
  const down: string[] = [];
  for (const address of addresses) {
    const url = new URL(address);
    if (!(await isListening(url.hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80)), 1000))) down.push(address);
  }
  if (down.length === 0) return;
  throw new SimulatorNotRunningError(
    `The simulated EmailBison API is not running at ${down.join(', ')}, where the ${workspaces.length} simulated workspaces point: ` +
      'start it with `npm run emailbison-sim` (in another terminal) and try again (`npm start` runs one of its own only while it syncs).',
  );
}
