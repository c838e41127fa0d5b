import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '../lambdas/config/load-config';
import { findJobByExecution, jobWorkspaces, type JobRecord, type JobWorkspaceRow } from '../lambdas/jobs/read-job';
import { warmupJobName } from '../lambdas/jobs/start-job';
import { noMetrics, silentLog, type TaskDeps, type TaskLog } from '../lambdas/runtime/deps';
import type { RunEvent } from '../lambdas/runtime/run-events';
import { lazySecretsManager } from '../lambdas/runtime/aws-sdk';
import { createSecretResolver } from '../lambdas/secrets/resolve';
import { createTaskHandlers, TASK_NAMES, TASKS } from '../lambdas/tasks';
import { startEmailBisonSim, type EmailBisonSim, type SimFaults, type SimOptions } from '../sim/server';
import { localExecutionArn } from '../state-machine/asl';
import type { LocalRunResult } from '../state-machine/local-runner';
import { openLocalDatabase, type LocalDatabase } from './database';
import { PROJECT_ROOT } from './embedded-postgres';
import { describeInterruption, stoppableHandlers } from './interruption';
import { localRequestCap } from './request-cap';
import { describeTakeover, type LocalRunLock, takeLocalRunLock } from './run-lock';
import {
  countRealWorkspaces,
  deactivateSimulatorWorkspaces,
  pointSimulatorWorkspacesAt,
  registerSimulatorWorkspaces,
  SIMULATOR_DEFAULT_PORT,
  simulatorUrl,
} from './simulator-workspaces';

/**
 * `npm start`: the state machine the stack deploys, executed on this machine with the
 * real task code, against DATABASE_URL (else the embedded Postgres) and the registered
 * workspaces (else the simulated EmailBison API).
 */
export interface LocalRunOptions {
  env: Record<string, string | undefined>;
  workspaces?: string[];
  simulator?: { scenario?: string; latencyMs?: number; port?: number; faults?: Record<string, SimFaults>; instance?: SimulatedInstance };
  /** Every event of the run's tasks (job started, page synced, workspace synced or failed, ...), for a progress display. */
  onEvent?: (event: RunEvent) => void;
  /** What the local run itself has to say: the simulator it started, the workspaces it deactivated. */
  onNote?: (message: string) => void;
  /** The tasks' log lines; default: none. */
  log?: TaskLog;
  signal?: AbortSignal;
  instantRetries?: boolean;
  /** The daily warmup pass instead of the account sync (`run --warmup`): execution input `{"mode": "warmup"}`. */
  warmup?: boolean;
  /** With `warmup`: the UTC day to read (YYYY-MM-DD); default today's. */
  warmupDay?: string;
}

/** How the simulated instance behaves (`run --sim-pagination`, `--sim-page-cap`, `--sim-rate`, ...); see SimOptions. */
export type SimulatedInstance = Partial<
  Pick<
    SimOptions,
    'pagination' | 'pageCap' | 'rateLimit' | 'usersRoute' | 'warmupRoute' | 'invalidCursor' | 'honourPerPage' | 'unreachable'
  >
>;

export type RunStatus = 'completed' | 'partial' | 'failed' | 'already_running' | 'aborted';

export interface LocalRunOutcome {
  status: RunStatus;
  job?: JobRecord;
  workspaces: JobWorkspaceRow[];
  execution: LocalRunResult;
  simulator?: { scenario: string; url: string };
  databaseUrl: string;
  embedded: boolean;
  embeddedDataDir?: string;
  runningJobId?: string;
}

export async function runSyncLocally(options: LocalRunOptions): Promise<LocalRunOutcome> {
  // The state machine runner (aws-local-stepfunctions) and the tasks' code (the EmailBison
  // client: undici, zod) load while Postgres and the simulator start.
  const runner = import('../state-machine/local-runner');
  runner.catch(() => {});
  for (const name of TASK_NAMES) TASKS[name].load().catch(() => {});
  let config = loadConfig(options.env);
  const secretsFile = path.resolve(PROJECT_ROOT, config.localSecretsFile);
  // The simulator starts beside Postgres too (its data takes a moment to generate); unless no
  // real workspace is registered, it is closed unused.
  const simulator = startSimulator(options.simulator);
  const unusedSimulator = async () => (await simulator.catch(() => undefined))?.close();
  const db = await openLocalDatabase({
    databaseUrl: config.databaseUrl,
    embeddedDataDir: config.embeddedPostgresDir,
    part: 'run',
    config,
  }).catch(async (error) => {
    await unusedSimulator();
    throw error;
  });
  let sim: EmailBisonSim | undefined;
  let lock: LocalRunLock | undefined;
  const executionName = randomUUID();
  try {
    // Before anything is touched (registry rows, the secrets file, a simulator): a second run changes nothing.
    lock = await takeLocalRunLock(db.sql, {
      // Each pass has its own lock, as its own job name: a warmup pass and a sync may run side by side.
      jobName: options.warmup ? warmupJobName(config.jobName) : config.jobName,
      runTimeoutMinutes: config.runTimeoutMinutes,
      executionArn: localExecutionArn(executionName),
      onLost: () =>
        options.onNote?.('This run was silent for over a minute and another run took its lease over: its job is marked failed.'),
    });
    if (db.adopted) options.onNote?.(db.adopted);
    if (lock.kind === 'held') return alreadyRunning(db, lock, options);
    if (lock.tookOver) options.onNote?.(describeTakeover(lock.tookOver));
    let workspaces = options.workspaces;
    if ((await countRealWorkspaces(db.sql)) === 0) {
      const scenario = options.simulator?.scenario ?? 'seed-2025';
      const instance = options.simulator?.instance ?? {};
      sim = await simulator;
      for (const [workspace, faults] of Object.entries(options.simulator?.faults ?? {})) sim.setFaults(workspace, faults);
      const { names } = await registerSimulatorWorkspaces(db.sql, sim, { secretsFile });
      workspaces ??= names;
      options.onNote?.(
        `No EmailBison workspaces are registered: ${options.warmup ? 'reading warmup figures from' : 'syncing'} the simulated EmailBison API (scenario ${scenario}, ${names.length} workspaces) at ${sim.url}.`,
      );
      options.onNote?.(`simulated instance: ${describeSimulatedInstance(instance)}`);
      const cap = localRequestCap({
        env: options.env,
        configuredMaxRps: config.emailbisonMaxRps,
        simulator: { rateLimit: instance.rateLimit },
      });
      config = { ...config, emailbisonMaxRps: cap.maxRps };
      options.onNote?.(cap.note);
    } else {
      const deactivated = await deactivateSimulatorWorkspaces(db.sql);
      if (deactivated > 0) options.onNote?.(`Real workspaces are registered: ${deactivated} simulator workspaces deactivated.`);
      options.onNote?.(localRequestCap({ env: options.env, configuredMaxRps: config.emailbisonMaxRps }).note);
    }
    const deps = localDeps(db, config, secretsFile, options);
    const tasks = createTaskHandlers(deps);
    const handlers = stoppableHandlers(tasks, options.signal);
    const { runStateMachineLocally } = await runner;
    const execution = await runStateMachineLocally({
      input: {
        ...(workspaces ? { workspaces } : {}),
        ...(options.warmup ? { mode: 'warmup', ...(options.warmupDay ? { day: options.warmupDay } : {}) } : {}),
      },
      executionName,
      handlers,
      instantRetries: options.instantRetries,
      signal: options.signal,
    });
    if (execution.status === 'ABORTED') {
      // The calls in flight end at the signal (their requests aborted, their cursors saved);
      // wait for them, so nothing of this run writes, or uses the pool, after this.
      await handlers.settled();
      // What the EventBridge rule on ABORTED does in AWS: the job must not stay running.
      await tasks.markFailed({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: execution.executionArn,
          status: 'ABORTED',
          error: 'Interrupted',
          cause: describeInterruption(options.signal?.reason),
        },
      });
    }
    const job = await findJobByExecution(db.sql, execution.executionArn);
    const rows = job ? await jobWorkspaces(db.sql, job.jobId) : [];
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
    await (sim ? sim.close() : unusedSimulator());
    // Neither may hide the run's own error or keep the database open: a lease not given back
    // is taken over by the next run at once (this process will be gone), or after a minute.
    if (sim && lock?.kind === 'taken') await restSimulatorWorkspaces(db, sim, options).catch(() => {});
    if (lock?.kind === 'taken') await lock.release().catch(() => {});
    await db.close();
  }
}

/** Refused before starting anything: no execution, no job, no row or file touched. */
function alreadyRunning(db: LocalDatabase, lock: Extract<LocalRunLock, { kind: 'held' }>, options: LocalRunOptions): LocalRunOutcome {
  if (lock.runningJobId)
    options.onEvent?.({ type: 'already-running', runningJobId: lock.runningJobId, runningForSeconds: lock.runningForSeconds ?? 0 });
  return {
    status: 'already_running',
    workspaces: [],
    execution: { status: 'NOT_STARTED', events: [], executionArn: '', durationMs: 0 },
    databaseUrl: db.url,
    embedded: db.embedded,
    embeddedDataDir: db.embeddedDataDir,
    runningJobId: lock.runningJobId,
  };
}

function outcomeStatus(execution: LocalRunResult, job: JobRecord | undefined, runningJobId: string | undefined): RunStatus {
  if (execution.status === 'ABORTED') return 'aborted';
  if (!job && runningJobId) return 'already_running';
  if (job?.status === 'completed' || job?.status === 'partial') return job.status;
  return 'failed';
}

function localDeps(db: LocalDatabase, config: ReturnType<typeof loadConfig>, secretsFile: string, options: LocalRunOptions): TaskDeps {
  return {
    sql: db.sql,
    config,
    secrets: createSecretResolver({
      // aws-sm: key references (keys stored with --store aws-sm) are read as the Lambdas read them.
      secretsManager: lazySecretsManager(),
      env: options.env,
      localSecretsFile: secretsFile,
      ttlSeconds: config.secretsCacheTtlSeconds,
    }),
    log: options.log ?? silentLog,
    metrics: noMetrics,
    now: Date.now,
    // After a stop the run is over for whoever watches: what its last calls do (a cursor saved,
    // an attempt cut short) is not news, and nothing may print after the summary.
    onEvent: (event) => {
      if (!options.signal?.aborted) options.onEvent?.(event);
    },
    signal: options.signal,
  };
}

/** One line saying how the simulated instance answers, so the run's output shows what it ran against. */
function describeSimulatedInstance(instance: SimulatedInstance): string {
  const rate = instance.rateLimit ? `${instance.rateLimit.requests} requests per ${instance.rateLimit.windowSeconds} s window` : 'off';
  return [
    `pagination ${instance.pagination ?? 'page'}`,
    `page cap ${instance.pageCap ?? 'none'}`,
    `rate limit ${rate}`,
    `/api/users ${instance.usersRoute === false ? 'off (404)' : 'on'}`,
    ...(instance.warmupRoute === false ? ['/api/warmup off (404)'] : []),
    ...(instance.invalidCursor ? [`invalid cursor ${instance.invalidCursor}`] : []),
    ...(instance.honourPerPage ? ['per_page honoured'] : []),
    ...(instance.unreachable ? [`unreachable (${instance.unreachable})`] : []),
  ].join('; ');
}

function startSimulator(simulator: LocalRunOptions['simulator']): Promise<EmailBisonSim> {
  const start = (port: number) =>
    startEmailBisonSim({ ...simulator?.instance, scenario: simulator?.scenario ?? 'seed-2025', port, latencyMs: simulator?.latencyMs });
  // Bound, not checked and then bound: 4010 taken (`npm run emailbison-sim`, another run) leaves this run any free port.
  const starting =
    simulator?.port !== undefined
      ? start(simulator.port)
      : start(SIMULATOR_DEFAULT_PORT).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EADDRINUSE') throw error;
          return start(0);
        });
  starting.catch(() => {}); // Reported where it is awaited, if the simulator is used.
  return starting;
}

/**
 * Between runs the simulated workspaces point at the simulator's usual address
 * (http://127.0.0.1:4010, or --sim-port's), where `npm run emailbison-sim` serves the same
 * workspaces and keys: never at a port that closed with this run.
 */
async function restSimulatorWorkspaces(db: LocalDatabase, sim: EmailBisonSim, options: LocalRunOptions): Promise<void> {
  const resting = simulatorUrl(options.simulator?.port || SIMULATOR_DEFAULT_PORT);
  if (resting === sim.url) return;
  const moved = await pointSimulatorWorkspacesAt(db.sql, { from: sim.url, to: resting });
  if (moved > 0) options.onNote?.(`The simulated workspaces point at ${resting} again (\`npm run emailbison-sim\` serves them there).`);
}
