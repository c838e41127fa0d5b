import path from 'node:path';
import { loadConfig } from '../lambdas/config/load-config';
import { createMarkFailedTask } from '../lambdas/mark-failed/task';
import { createRecordResultTask } from '../lambdas/record-result/task';
import { noMetrics, type TaskDeps, type TaskLog } from '../lambdas/runtime/deps';
import { createSecretResolver } from '../lambdas/secrets/resolve';
import { createStartJobTask } from '../lambdas/start-job/task';
import { createSyncWorkspaceTask, type SyncWorkspaceEvent } from '../lambdas/sync-workspace/task';
import type { SyncWorkspaceResult } from '../lambdas/sync/sync-workspace';
import { workspaceNameLookup } from '../lambdas/workspaces/registry';
import { startEmailBisonSim, type EmailBisonSim, type SimFaults } from '../sim/server';
import { runStateMachineLocally, type LocalRunResult } from '../state-machine/local-runner';
import { findJobByExecution, jobWorkspaces, type JobRow, type JobWorkspaceRow } from '../cli/reports';
import { openLocalDatabase, type LocalDatabase } from './database';
import { freePort, isListening, PROJECT_ROOT } from './embedded-postgres';
import { countRealWorkspaces, deactivateSimulatorWorkspaces, registerSimulatorWorkspaces } from './simulator-workspaces';

/**
 * `npm start`: the state machine the stack deploys, executed on this machine with the
 * real task code, against DATABASE_URL (else the embedded Postgres) and the registered
 * workspaces (else the simulated EmailBison API).
 */
export interface LocalRunOptions {
  env: Record<string, string | undefined>;
  workspaces?: string[];
  simulator?: { scenario?: string; latencyMs?: number; port?: number; faults?: Record<string, SimFaults> };
  events: RunEvents;
  signal?: AbortSignal;
  instantRetries?: boolean;
}

export interface RunEvents {
  note(message: string): void;
  workspaceStarted(workspace: string, cursor: number | null | undefined): void;
  workspaceProgress(workspace: string, page: number, lastPage: number, accountsRead: number): void;
  workspaceFinished(workspace: string, result: SyncWorkspaceResult): void;
  workspaceAttemptFailed(workspace: string, error: Error): void;
  workspaceFailed(workspace: string, error: string): void;
  log: TaskLog;
}

export type RunStatus = 'completed' | 'partial' | 'failed' | 'already_running' | 'aborted';

export interface LocalRunOutcome {
  status: RunStatus;
  job?: JobRow;
  workspaces: JobWorkspaceRow[];
  execution: LocalRunResult;
  simulator?: { scenario: string; url: string };
  databaseUrl: string;
  embedded: boolean;
  embeddedDataDir?: string;
  runningJobId?: string;
}

export async function runSyncLocally(options: LocalRunOptions): Promise<LocalRunOutcome> {
  let config = loadConfig(options.env);
  const secretsFile = path.resolve(PROJECT_ROOT, config.localSecretsFile);
  const db = await openLocalDatabase({ databaseUrl: config.databaseUrl });
  let sim: EmailBisonSim | undefined;
  try {
    let workspaces = options.workspaces;
    if ((await countRealWorkspaces(db.sql)) === 0) {
      const scenario = options.simulator?.scenario ?? 'seed-2025';
      sim = await startEmailBisonSim({ scenario, port: await simulatorPort(options.simulator?.port), latencyMs: options.simulator?.latencyMs });
      for (const [workspace, faults] of Object.entries(options.simulator?.faults ?? {})) sim.setFaults(workspace, faults);
      const { names } = await registerSimulatorWorkspaces(db.sql, sim, { secretsFile });
      workspaces ??= names;
      options.events.note(`No EmailBison workspaces are registered: syncing the simulated EmailBison API (scenario ${scenario}, ${names.length} workspaces) at ${sim.url}.`);
      // The built-in simulator is no instance shared with other tools: no request cap unless asked for.
      if (options.env.EMAILBISON_MAX_RPS === undefined) {
        config = { ...config, emailbisonMaxRps: 0 };
        options.events.note('No request cap against the simulator (set EMAILBISON_MAX_RPS to throttle).');
      }
    } else {
      const deactivated = await deactivateSimulatorWorkspaces(db.sql);
      if (deactivated > 0) options.events.note(`Real workspaces are registered: ${deactivated} simulator workspaces deactivated.`);
    }
    const deps = localDeps(db, config, secretsFile, options);
    const handlers = localHandlers(deps, options.events);
    const execution = await runStateMachineLocally({
      input: workspaces ? { workspaces } : {},
      handlers,
      instantRetries: options.instantRetries,
      signal: options.signal,
    });
    if (execution.status === 'ABORTED') {
      // The syncs in flight stop at their next page boundary (deps.signal); let them save their cursors first.
      await handlers.settled();
      // What the EventBridge rule on ABORTED does in AWS: the job must not stay running.
      await createMarkFailedTask(deps)({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: { executionArn: execution.executionArn, status: 'ABORTED', error: 'Interrupted', cause: 'stopped by Ctrl-C' },
      });
    }
    const job = await findJobByExecution(db.sql, execution.executionArn);
    const rows = job ? await jobWorkspaces(db.sql, job.id) : [];
    const runningJobId = (execution.output as { runningJobId?: string } | undefined)?.runningJobId;
    return {
      status: outcomeStatus(execution, job, runningJobId),
      job,
      workspaces: rows,
      execution,
      simulator: sim ? { scenario: options.simulator?.scenario ?? 'seed-2025', url: sim.url } : undefined,
      databaseUrl: db.url,
      embedded: db.embedded,
      embeddedDataDir: db.embeddedDataDir,
      runningJobId,
    };
  } finally {
    await sim?.close();
    await db.close();
  }
}

function outcomeStatus(execution: LocalRunResult, job: JobRow | undefined, runningJobId: string | undefined): RunStatus {
  if (execution.status === 'ABORTED') return 'aborted';
  if (!job && runningJobId) return 'already_running';
  if (job?.status === 'completed' || job?.status === 'partial') return job.status;
  return 'failed';
}

function localDeps(db: LocalDatabase, config: ReturnType<typeof loadConfig>, secretsFile: string, options: LocalRunOptions): TaskDeps {
  return {
    sql: db.sql,
    config,
    secrets: createSecretResolver({ env: options.env, localSecretsFile: secretsFile, ttlSeconds: config.secretsCacheTtlSeconds }),
    log: options.events.log,
    metrics: noMetrics,
    now: Date.now,
    onSyncProgress: (p) => options.events.workspaceProgress(p.workspace, p.page, p.lastPage, p.accountsRead),
    signal: options.signal,
  };
}

function localHandlers(deps: TaskDeps, events: RunEvents) {
  const sync = createSyncWorkspaceTask(deps);
  const markFailed = createMarkFailedTask(deps);
  const inFlight = new Set<Promise<unknown>>();
  const nameOf = workspaceNameLookup(deps.sql);
  const syncOne = async (e: SyncWorkspaceEvent) => {
    const name = await nameOf(e.workspace);
    events.workspaceStarted(name, e.cursor);
    try {
      const result = await sync(e);
      events.workspaceFinished(name, result);
      return result;
    } catch (error) {
      events.workspaceAttemptFailed(name, error as Error);
      throw error;
    }
  };
  return {
    startJob: createStartJobTask(deps),
    syncWorkspace: (event: unknown) => {
      const running = syncOne(event as SyncWorkspaceEvent);
      inFlight.add(running);
      running.then(
        () => inFlight.delete(running),
        () => inFlight.delete(running),
      );
      return running;
    },
    settled: () => Promise.allSettled([...inFlight]),
    recordResult: createRecordResultTask(deps),
    markFailed: async (event: unknown) => {
      const result = await markFailed(event as never);
      const e = event as { scope?: string; workspace?: { id: number; name?: string }; error?: { Error?: string } };
      if (e.scope === 'workspace' && e.workspace) events.workspaceFailed(await nameOf(e.workspace), e.error?.Error ?? 'Error');
      return result;
    },
  };
}

/** The simulator's usual port (4010) when free, so `check-keys` after a run finds it with `npm run emailbison-sim`. */
async function simulatorPort(requested: number | undefined): Promise<number> {
  if (requested !== undefined) return requested;
  return (await isListening('127.0.0.1', 4010, 200)) ? freePort() : 4010;
}
