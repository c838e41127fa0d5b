import { WorkspaceNotFoundError } from '../../lambdas/errors';
import { jobColumns } from '../../lambdas/jobs/read-job';
import type { SimFaults } from '../../sim/server';
import { RunInterrupted } from '../../local/interruption';
import { runSyncLocally, type LocalRunOutcome } from '../../local/run-local';
import { colorsFor } from '../colors';
import { fail, printJson } from '../output';
import { createRunProgress } from '../progress';
import { outcomeLine } from '../run-outcome';
import { parseSimFlags, type SimFlags, wholeNumber } from '../sim-flags';
import { formatMs } from '../table';
import { formatCount } from '../words';
import { jobSummaryLines, workspaceTable } from './reports';
import { EXIT } from './trigger';

export interface RunOptions extends SimFlags {
  workspaces?: string;
  scenario?: string;
  latencyMs?: string;
  simRejectKey?: string[];
  simPort?: string;
  json?: boolean;
  warmup?: boolean;
  day?: string;
}

export async function runCommand(options: RunOptions): Promise<void> {
  const controller = new AbortController();
  const progress = createRunProgress({ stream: process.stderr, env: process.env });
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
      warmup: options.warmup === true,
      warmupDay: options.day,
    });
    progress.stop();
    const unknownWorkspace = unknownWorkspaceOf(outcome);
    if (unknownWorkspace) fail(new WorkspaceNotFoundError(unknownWorkspace));
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

/** StartJob's refusal of a name that is not registered (or not active): a usage error, in its own words. */
function unknownWorkspaceOf(outcome: LocalRunOutcome): string | undefined {
  if (outcome.job || outcome.execution.error !== 'WorkspaceNotFoundError') return undefined;
  try {
    return (JSON.parse(outcome.execution.cause ?? '') as { errorMessage?: string }).errorMessage;
  } catch {
    return outcome.execution.cause;
  }
}

function report(outcome: LocalRunOutcome, json: boolean) {
  if (json) {
    printJson({
      status: outcome.status,
      job: outcome.job ? jobColumns(outcome.job) : null,
      workspaces: outcome.workspaces,
      execution: {
        status: outcome.execution.status,
        execution_arn: outcome.execution.executionArn,
        duration_ms: outcome.execution.durationMs,
        error: outcome.execution.error ?? null,
        cause: outcome.execution.cause ?? null,
      },
      running_job_id: outcome.runningJobId ?? null,
    });
    return;
  }
  const colors = colorsFor(process.stdout, process.env);
  if (outcome.status === 'already_running') {
    console.log(
      `Another run is in progress (${outcome.runningJobId ? `job ${outcome.runningJobId}` : 'a local run starting'}): nothing started, nothing changed.`,
    );
    return;
  }
  if (outcome.workspaces.length > 0) console.log(`\n${workspaceTable(outcome.workspaces)}\n`);
  if (outcome.job) console.log(jobSummaryLines(outcome.job).join('\n'));
  const written = outcome.workspaces.reduce((sum, w) => sum + w.accounts_written, 0);
  const database = outcome.embedded ? `embedded Postgres (${outcome.embeddedDataDir ?? '.sender-sync/postgres'})` : 'DATABASE_URL';
  console.log(`\ntook ${formatMs(outcome.execution.durationMs)}; rows written: ${formatCount(written)}; database: ${database}`);
  console.log(outcomeLine(outcome, colors));
}
