import type { RunEvent } from '../../lambdas/runtime/run-events';
import { describeWalkCursor } from '../../lambdas/sync/walk-state';
import type { SimFaults } from '../../sim/server';
import { RunInterrupted } from '../../local/interruption';
import { runSyncLocally, type LocalRunOutcome } from '../../local/run-local';
import { fail } from '../output';
import { parseSimFlags, type SimFlags, wholeNumber } from '../sim-flags';
import { formatMs } from '../table';
import { jobSummaryLines, workspaceTable } from './reports';
import { EXIT } from './trigger';

export interface RunOptions extends SimFlags {
  workspaces?: string;
  scenario?: string;
  latencyMs?: string;
  simRejectKey?: string[];
  simPort?: string;
  json?: boolean;
}

export async function runCommand(options: RunOptions): Promise<void> {
  const controller = new AbortController();
  const progress = createProgress(process.stdout.isTTY === true && !options.json);
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // A terminal's Ctrl-C can arrive twice (the process group, and a wrapper relaying it): one second apart counts as a second press.
    if (firstSignalAt > 0) {
      if (Date.now() - firstSignalAt > 1000) process.exit(EXIT.interrupted);
      return;
    }
    firstSignalAt = Date.now();
    // The progress line is cleared first, so the note (and the prompt after the summary) starts a line of its own.
    progress.stop();
    process.stderr.write(
      signal === 'SIGINT'
        ? 'Ctrl-C: stopping the run and marking its job failed (Ctrl-C again to quit at once)…\n'
        : `${signal}: stopping the run and marking its job failed…\n`,
    );
    controller.abort(new RunInterrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const faults: Record<string, SimFaults> = {};
    for (const name of options.simRejectKey ?? []) faults[name] = { rejectKey: true };
    const instance = parseSimFlags(options);
    const outcome = await runSyncLocally({
      env: process.env,
      workspaces: options.workspaces
        ?.split(',')
        .map((n) => n.trim())
        .filter(Boolean),
      simulator: {
        scenario: options.scenario,
        latencyMs: options.latencyMs === undefined ? undefined : wholeNumber('--latency-ms', options.latencyMs),
        port: options.simPort === undefined ? undefined : wholeNumber('--sim-port', options.simPort),
        faults,
        instance,
      },
      onEvent: progress.onEvent,
      onNote: progress.note,
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
    console.log(
      JSON.stringify(
        {
          status: outcome.status,
          job: outcome.job,
          workspaces: outcome.workspaces,
          execution: {
            status: outcome.execution.status,
            executionArn: outcome.execution.executionArn,
            error: outcome.execution.error,
            cause: outcome.execution.cause,
          },
        },
        null,
        2,
      ),
    );
    return;
  }
  if (outcome.status === 'already_running') {
    console.log(
      `Another run is in progress (${outcome.runningJobId ? `job ${outcome.runningJobId}` : 'a local run starting'}): nothing started, nothing changed.`,
    );
    return;
  }
  if (outcome.workspaces.length > 0) console.log(`\n${workspaceTable(outcome.workspaces)}\n`);
  if (outcome.job) console.log(jobSummaryLines(outcome.job).join('\n'));
  else console.log(`The run failed before creating a job: ${outcome.execution.error ?? ''} ${outcome.execution.cause ?? ''}`.trim());
  const written = outcome.workspaces.reduce((sum, w) => sum + w.accounts_written, 0);
  console.log(
    `\nexecution ${outcome.execution.status} in ${formatMs(outcome.execution.durationMs)}; rows written: ${written}; database: ${outcome.embedded ? `embedded Postgres (${outcome.embeddedDataDir ?? '.sender-sync/postgres'})` : 'DATABASE_URL'}`,
  );
}

/**
 * Progress a person can follow, from the run's typed events (never its log text): on a
 * terminal one status line redrawn in place (workspaces done/total, accounts so far,
 * the workspaces in flight, attempts retried); elsewhere a plain line per event.
 */
function createProgress(tty: boolean) {
  const inFlight = new Map<number, string>();
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
    const flying = [...inFlight.values()].join(', ');
    process.stdout.write(
      `\r\x1b[2K[${done}/${total || '?'} workspaces] ${accounts} accounts · ${retries} attempts retried${flying ? ` · syncing ${flying}` : ''}`.slice(
        0,
        process.stdout.columns || 200,
      ),
    );
  };
  if (tty) timer = setInterval(draw, 250);
  const nameOf = (workspace: { id: number; name?: string }) => workspace.name ?? `workspace ${workspace.id}`;
  const onEvent = (event: RunEvent): void => {
    switch (event.type) {
      case 'job-started':
        total = event.workspaces.length;
        return;
      case 'already-running':
        line(`warning: another run (job ${event.runningJobId}) has held the lock for ${event.runningForSeconds} s: not starting`);
        return;
      case 'workspace-syncing': {
        const { workspace, cursor } = event;
        inFlight.set(workspace.id, cursor ? `${workspace.name} (from ${describeWalkCursor(cursor)})` : workspace.name);
        if (!tty) console.log(`${workspace.name}: ${cursor ? `continuing from ${describeWalkCursor(cursor)}` : 'syncing'}`);
        return;
      }
      case 'page-synced':
        inFlight.set(event.workspace.id, `${event.workspace.name} (page ${event.page}/${event.lastPage})`);
        return;
      case 'workspace-paused':
        inFlight.delete(event.workspace.id);
        line(`${event.workspace.name}: time budget reached at ${event.cursor ? describeWalkCursor(event.cursor) : 'the end'}; continuing`);
        return;
      case 'workspace-synced':
        inFlight.delete(event.workspace.id);
        done += 1;
        accounts += event.accountsSynced;
        line(`${event.workspace.name}: synced ${event.accountsSynced} accounts`);
        return;
      case 'workspace-attempt-failed':
        inFlight.delete(event.workspace.id);
        retries += 1;
        line(`${nameOf(event.workspace)}: attempt failed: ${event.error.name}: ${event.error.message.slice(0, 160)}`);
        return;
      case 'workspace-failed':
        done += 1;
        line(`${nameOf(event.workspace)}: FAILED (${event.error.slice(0, 160)}); the other workspaces go on`);
        return;
      case 'job-finished':
      case 'run-failed':
        // The report after the run says how it ended.
        return;
    }
  };
  return {
    onEvent,
    note: (message: string) => line(message),
    stop() {
      if (timer) clearInterval(timer);
      if (tty) process.stdout.write('\r\x1b[2K');
    },
  };
}
