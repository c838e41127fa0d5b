import { setTimeout as delay } from 'node:timers/promises';
import { InvalidInputError } from '../../lambdas/errors';
import { describeExecution, executionConsoleUrl, startExecution } from '../aws';
import { withCliContext } from '../context';
import { fail } from '../output';
import { findJobByExecution, jobWorkspaces } from '../../lambdas/jobs/read-job';
import { jobSummaryLines, workspaceTable } from './reports';

export interface TriggerOptions {
  workspaces?: string;
  wait?: boolean;
  stateMachineArn?: string;
  json?: boolean;
  intervalSeconds?: string;
}

/** Exit codes of `run` and `trigger --wait`, for scripts. */
export const EXIT = { completed: 0, error: 1, partial: 2, failed: 3, alreadyRunning: 4, interrupted: 130 } as const;

export async function triggerCommand(options: TriggerOptions): Promise<void> {
  try {
    const stateMachineArn = options.stateMachineArn ?? process.env.STATE_MACHINE_ARN;
    if (!stateMachineArn)
      throw new InvalidInputError(
        'No state machine: pass --state-machine-arn or set STATE_MACHINE_ARN (the stack output StateMachineArn).',
      );
    const names = options.workspaces
      ?.split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const input = names && names.length > 0 ? { workspaces: names, triggerSource: 'cli' } : { triggerSource: 'cli' };
    const { executionArn } = await startExecution(stateMachineArn, input);
    if (!options.json) {
      console.log(`started ${executionArn}`);
      console.log(`console: ${executionConsoleUrl(executionArn)}`);
    }
    if (!options.wait) {
      if (options.json) console.log(JSON.stringify({ executionArn, consoleUrl: executionConsoleUrl(executionArn) }));
      return;
    }
    const exitCode = await withCliContext(async ({ db }) => {
      let lastLine = '';
      for (;;) {
        const execution = await describeExecution(executionArn);
        const job = await findJobByExecution(db.sql, executionArn);
        if (job && !options.json) {
          const ws = await jobWorkspaces(db.sql, job.jobId);
          const done = ws.filter((w) => w.status === 'synced' || w.status === 'failed').length;
          const accounts = ws.reduce((sum, w) => sum + w.accounts_synced, 0);
          const line = `${'status' in execution ? execution.status : '?'}: ${done}/${ws.length} workspaces done, ${accounts} accounts`;
          if (line !== lastLine) console.log(line);
          lastLine = line;
        }
        if ('unavailable' in execution) throw new Error(`Cannot follow the execution: ${execution.unavailable}.`);
        if (execution.status !== 'RUNNING') {
          const final = await findJobByExecution(db.sql, executionArn);
          if (options.json) console.log(JSON.stringify({ executionArn, execution, job: final }, null, 2));
          else if (final) {
            console.log(`\n${workspaceTable(await jobWorkspaces(db.sql, final.jobId))}\n`);
            console.log(jobSummaryLines(final, execution).join('\n'));
          } else
            console.log(
              `execution ${execution.status}${execution.error ? `: ${execution.error}` : ''} (no job row: it ended before Start job)`,
            );
          if (final?.status === 'completed') return EXIT.completed;
          if (final?.status === 'partial') return EXIT.partial;
          return EXIT.failed;
        }
        await delay(Number(options.intervalSeconds ?? 5) * 1000);
      }
    });
    process.exitCode = exitCode;
  } catch (error) {
    fail(error);
  }
}
