import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../lambdas/config/load-config';
import type { Sql } from '../lambdas/db/client';
import { noMetrics, silentLog, type TaskDeps } from '../lambdas/runtime/deps';
import { createSecretResolver } from '../lambdas/secrets/resolve';
import { registerSimulatorWorkspaces } from '../local/simulator-workspaces';
import type { EmailBisonSim } from '../sim/server';
import type { SimChild } from './sim-child';

/*
 * What the task code is given in the bench: the deployed default configuration, the
 * bench's Postgres, keys of the simulator's workspaces in a secrets file of the run.
 * No state-machine import here: the memory child bundles this file as a Lambda would.
 */
/** The deployed defaults, except the request cap: off, so the end-to-end figures measure against the API bound. */
export const CONFIG: Config = loadConfig({ EMAILBISON_MAX_RPS: '0' });
/** The deployed defaults as they are, request cap included (3 a second per instance). */
export const DEPLOYED_CONFIG: Config = loadConfig({});

/**
 * Registers the simulator's workspaces (keys in a secrets file of this run) and makes
 * them the only active ones, so the execution input is `{}` as on the schedule.
 */
export async function registerScenario(sql: Sql, sim: SimChild): Promise<{ secretsFile: string; names: string[] }> {
  const secretsFile = path.join(mkdtempSync(path.join(tmpdir(), 'ss-bench-')), 'secrets.json');
  const asSim = { url: sim.url, workspaces: () => sim.workspaces() } as unknown as EmailBisonSim;
  const { names } = await registerSimulatorWorkspaces(sql, asSim, { secretsFile });
  await sql`update workspaces set active = (name = any(${names}::text[]))`;
  return { secretsFile, names };
}

export function pipelineDeps(sql: Sql, secretsFile: string, config: Config = CONFIG): TaskDeps {
  return {
    sql,
    config,
    secrets: createSecretResolver({ env: {}, localSecretsFile: secretsFile, ttlSeconds: CONFIG.secretsCacheTtlSeconds }),
    log: silentLog,
    metrics: noMetrics,
    now: Date.now,
  };
}
