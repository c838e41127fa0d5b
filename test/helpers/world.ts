import type { WorkspaceIdRef } from '../../lambdas/workspaces/ref';
import { loadConfig, type Config } from '../../lambdas/config/load-config';
import type { Sql } from '../../lambdas/db/client';
import type { WalkCursor } from '../../lambdas/emailbison/client';
import { finalizeJob } from '../../lambdas/jobs/finalize-job';
import type { JobRecord } from '../../lambdas/jobs/read-job';
import { startJob } from '../../lambdas/jobs/start-job';
import { noMetrics, silentLog, type TaskDeps } from '../../lambdas/runtime/deps';
import { createSecretResolver } from '../../lambdas/secrets/resolve';
import { createSyncWorkspaceTask } from '../../lambdas/sync-workspace/task';
import { createMarkFailedTask } from '../../lambdas/mark-failed/task';
import path from 'node:path';
import { registerSimulatorWorkspaces } from '../../local/simulator-workspaces';
import { startEmailBisonSim, type EmailBisonSim } from '../../sim/server';
import { tempDir } from './cleanup';

/** Waits a thousandth of what the API asks: Retry-After 1 s becomes 1 ms. */
export const fastSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(ms / 1000, 50),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export interface World {
  sim: EmailBisonSim;
  deps: TaskDeps;
  secretsFile: string;
  names: string[];
}

export async function createWorld(
  sql: Sql,
  options: { scenario?: string; only?: string[]; config?: Record<string, string>; env?: Record<string, string> } = {},
): Promise<World> {
  const sim = await startEmailBisonSim({ scenario: options.scenario ?? 'seed-2025' });
  const secretsFile = path.join(tempDir('ss-world-'), 'secrets.json');
  const { names } = await registerSimulatorWorkspaces(sql, sim, { secretsFile, only: options.only });
  // The simulator is no shared instance: no request cap unless a test sets one.
  const config: Config = loadConfig({ RUN_TIMEOUT_MINUTES: '60', EMAILBISON_MAX_RPS: '0', ...options.config });
  const deps: TaskDeps = {
    sql,
    config,
    secrets: createSecretResolver({ env: options.env ?? {}, localSecretsFile: secretsFile }),
    log: silentLog,
    metrics: noMetrics,
    now: Date.now,
    emailbison: { sleep: fastSleep, baseBackoffMs: 20 },
  };
  return { sim, deps, secretsFile, names };
}

/**
 * The job run without the state machine: start, each workspace synced in turn (looping
 * on its cursor, a failure recorded as the state machine's Catch does), finalize.
 */
export async function runJobDirectly(deps: TaskDeps, workspaces?: string[]): Promise<JobRecord & { invocations: number }> {
  const started = await startJob(deps.sql, {
    jobName: deps.config.jobName,
    workspaceNames: workspaces,
    runTimeoutMinutes: deps.config.runTimeoutMinutes,
  });
  if (started.status !== 'started') throw new Error(`job not started: ${started.status}`);
  let invocations = 0;
  for (const workspace of started.workspaces) invocations += await syncUntilDone(deps, started.jobId, workspace);
  return { ...(await finalizeJob(deps.sql, started.jobId)), invocations };
}

/**
 * One workspace's iteration as the state machine runs it: Sync workspace called again while
 * it returns a cursor, a failure recorded as the Catch does. Returns the invocations made.
 */
export async function syncUntilDone(deps: TaskDeps, jobId: string, workspace: WorkspaceIdRef): Promise<number> {
  const sync = createSyncWorkspaceTask(deps);
  let invocations = 0;
  let cursor: WalkCursor | null = null;
  try {
    do {
      invocations += 1;
      const result = await sync({ jobId, workspace, cursor });
      cursor = result.done ? null : result.cursor;
    } while (cursor !== null);
  } catch (error) {
    const e = error as Error;
    await createMarkFailedTask(deps)({
      scope: 'workspace',
      jobId,
      workspace,
      error: { Error: e.name, Cause: JSON.stringify({ errorType: e.name, errorMessage: e.message }) },
    });
  }
  return invocations;
}

export interface StoredAccount {
  emailbison_id: number;
  email: string;
  emails_sent_count: number | null;
  bounced_count: number | null;
  status: string | null;
  raw: Record<string, unknown>;
  deleted: boolean;
}

export async function storedAccounts(sql: Sql, workspaceName: string): Promise<StoredAccount[]> {
  return sql<StoredAccount[]>`
    select se.emailbison_id, se.email, se.emails_sent_count, se.bounced_count, se.status, se.raw, se.deleted_at is not null as deleted
    from sender_emails se join workspaces w on w.id = se.workspace_id
    where w.name = ${workspaceName}
    order by se.emailbison_id
  `;
}

/** The simulator's truth as the live rows should hold it. */
export function truthAsStored(sim: EmailBisonSim, workspaceName: string) {
  return sim.truth(workspaceName).map((a) => ({
    emailbison_id: a.id,
    email: a.email,
    emails_sent_count: a.emails_sent_count,
    bounced_count: a.bounced_count,
    status: a.status,
    raw: a as unknown as Record<string, unknown>,
    deleted: false,
  }));
}

export async function liveAccounts(sql: Sql, workspaceName: string) {
  return (await storedAccounts(sql, workspaceName)).filter((a) => !a.deleted);
}
