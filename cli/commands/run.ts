import { InvalidInputError } from '../../lambdas/errors';
import type { TaskLog } from '../../lambdas/runtime/deps';
import { describeWalkCursor } from '../../lambdas/sync/walk-state';
import type { SimFaults } from '../../sim/server';
import { runSyncLocally, type LocalRunOutcome, type RunEvents } from '../../local/run-local';
import { fail } from '../output';
import { formatMs } from '../table';
import { jobSummaryLines, workspaceTable } from './reports';
import { EXIT } from './trigger';

export interface RunOptions {
  workspaces?: string;
  scenario?: string;
  latencyMs?: string;
  simRejectKey?: string[];
  simPort?: string;
  json?: boolean;
}

export async function runCommand(options: RunOptions): Promise<void> {
  const controller = new AbortController();
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // A terminal's Ctrl-C can arrive twice (the process group, and a wrapper relaying it): one second apart counts as a second press.
    if (firstSignalAt > 0) {
      if (Date.now() - firstSignalAt > 1000) process.exit(EXIT.interrupted);
      return;
    }
    firstSignalAt = Date.now();
    process.stderr.write(`\n${signal}: stopping the run and marking its job failed (Ctrl-C again to quit at once)…\n`);
    controller.abort(new Error(`stopped by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = createProgress(process.stdout.isTTY === true && !options.json);
  try {
    const faults: Record<string, SimFaults> = {};
    for (const name of options.simRejectKey ?? []) faults[name] = { rejectKey: true };
    const outcome = await runSyncLocally({
      env: process.env,
      workspaces: options.workspaces?.split(',').map((n) => n.trim()).filter(Boolean),
      simulator: {
        scenario: options.scenario,
        latencyMs: options.latencyMs === undefined ? undefined : wholeNumber('--latency-ms', options.latencyMs),
        port: options.simPort === undefined ? undefined : wholeNumber('--sim-port', options.simPort),
        faults,
      },
      events: progress.events,
      signal: controller.signal,
    });
    progress.stop();
    report(outcome, options.json === true);
    process.exitCode = exitCodeOf(outcome);
  } catch (error) {
    progress.stop();
    fail(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function exitCodeOf(outcome: LocalRunOutcome): number {
  switch (outcome.status) {
    case 'completed':
      return EXIT.completed;
    case 'partial':
      return EXIT.partial;
    case 'already_running':
      return EXIT.alreadyRunning;
    case 'aborted':
      return EXIT.interrupted;
    default:
      return EXIT.failed;
  }
}

function report(outcome: LocalRunOutcome, json: boolean) {
  if (json) {
    console.log(JSON.stringify({ status: outcome.status, job: outcome.job, workspaces: outcome.workspaces, execution: { status: outcome.execution.status, executionArn: outcome.execution.executionArn, error: outcome.execution.error, cause: outcome.execution.cause } }, null, 2));
    return;
  }
  if (outcome.status === 'already_running') {
    console.log(`Another run is in progress (job ${outcome.runningJobId}): nothing started.`);
    return;
  }
  if (outcome.workspaces.length > 0) console.log(`\n${workspaceTable(outcome.workspaces)}\n`);
  if (outcome.job) console.log(jobSummaryLines(outcome.job).join('\n'));
  else console.log(`The run failed before creating a job: ${outcome.execution.error ?? ''} ${outcome.execution.cause ?? ''}`.trim());
  const written = outcome.workspaces.reduce((sum, w) => sum + w.accounts_written, 0);
  console.log(`\nexecution ${outcome.execution.status} in ${formatMs(outcome.execution.durationMs)}; rows written: ${written}; database: ${outcome.embedded ? `embedded Postgres (${outcome.embeddedDataDir ?? '.sender-sync/postgres'})` : 'DATABASE_URL'}`);
}

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InvalidInputError(`${flag} must be a whole number, got "${text}".`);
  return value;
}

/**
 * Progress a person can follow: on a terminal one status line redrawn in place (workspaces
 * done/total, accounts so far, the workspaces in flight, rate-limit retries); elsewhere a
 * plain line per event.
 */
function createProgress(tty: boolean) {
  const inFlight = new Map<string, string>();
  let done = 0;
  let total = 0;
  let accounts = 0;
  let retries = 0;
  let timer: NodeJS.Timeout | undefined;
  const line = (text: string) => {
    if (tty) process.stdout.write(`\r\x1b[2K${text}\n`);
    else console.log(text);
    draw();
  };
  const draw = () => {
    if (!tty) return;
    const flying = [...inFlight].map(([name, where]) => `${name} ${where}`).join(', ');
    process.stdout.write(`\r\x1b[2K[${done}/${total || '?'} workspaces] ${accounts} accounts · ${retries} attempts retried${flying ? ` · syncing ${flying}` : ''}`.slice(0, process.stdout.columns || 200));
  };
  if (tty) timer = setInterval(draw, 250);
  const log: TaskLog = {
    info(message, fields) {
      if (message === 'job started' && typeof fields?.workspaces === 'number') total = fields.workspaces;
    },
    warn(message) {
      if (message.startsWith('another run')) line(`warning: ${message}`);
    },
    error() {},
    setContext() {},
  };
  const events: RunEvents = {
    log,
    note: (message) => line(message),
    workspaceStarted(workspace, cursor) {
      inFlight.set(workspace, cursor ? `(from ${describeWalkCursor(cursor)})` : '');
      if (!tty) console.log(`${workspace}: ${cursor ? `continuing from ${describeWalkCursor(cursor)}` : 'syncing'}`);
    },
    workspaceProgress(workspace, page, lastPage) {
      inFlight.set(workspace, `(page ${page}/${lastPage})`);
    },
    workspaceFinished(workspace, result) {
      inFlight.delete(workspace);
      if (result.done) {
        done += 1;
        accounts += result.accountsSynced;
        line(`${workspace}: synced ${result.accountsSynced} accounts`);
      } else line(`${workspace}: time budget reached at ${result.cursor ? describeWalkCursor(result.cursor) : 'the end'}; continuing`);
    },
    workspaceAttemptFailed(workspace, error) {
      inFlight.delete(workspace);
      retries += 1;
      line(`${workspace}: attempt failed: ${error.name}: ${error.message.slice(0, 160)}`);
    },
    workspaceFailed(workspace, error) {
      done += 1;
      line(`${workspace}: FAILED (${error}); the other workspaces go on`);
    },
  };
  return {
    events,
    stop() {
      if (timer) clearInterval(timer);
      if (tty) process.stdout.write('\r\x1b[2K');
    },
  };
}
