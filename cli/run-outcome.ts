import type { JobWorkspaceRow } from '../lambdas/jobs/read-job';
import type { LocalRunOutcome } from '../local/run-local';
import type { Colors } from './colors';
import { formatCount, plural, sortByName } from './words';

export type OutcomeSummary = Pick<LocalRunOutcome, 'status' | 'job' | 'workspaces' | 'execution' | 'runningJobId'>;

const NAMED_FAILURES = 3;

/**
 * The run's last line: how the job ended, in its own words, first.
 *   completed: 26 of 26 workspaces, 4,228 accounts
 *   partial: 1 of 26 workspaces failed (Juniper Health); 3,963 accounts synced
 *   failed: The execution ended ABORTED: Interrupted (stopped by Ctrl-C).
 * The state machine's own status (SUCCEEDED for a partial job) is not the job's outcome.
 */
export function outcomeLine(outcome: OutcomeSummary, c?: Colors): string {
  const paint = (status: string, colour: keyof Pick<Colors, 'green' | 'yellow' | 'red'>, rest: string) =>
    `${c ? c[colour](`${status}:`) : `${status}:`} ${rest}`;
  const { job } = outcome;
  if (outcome.status === 'already_running') {
    return paint('not started', 'yellow', `another run (job ${outcome.runningJobId ?? 'unknown'}) holds the lock`);
  }
  if (!job) {
    const why = [outcome.execution.error, outcome.execution.cause].filter(Boolean).join(': ');
    return paint('failed', 'red', `the run failed before creating a job${why ? ` (${why})` : ''}`);
  }
  const total = plural(job.totalWorkspaces, 'workspace');
  if (outcome.status === 'completed') {
    return paint('completed', 'green', `${formatCount(job.workspacesSynced)} of ${total}, ${plural(job.totalAccountsSynced, 'account')}`);
  }
  const failedNames = failedWorkspaces(outcome.workspaces);
  const named = failedNames.length > 0 ? ` (${nameSome(failedNames)})` : '';
  const notReached = job.workspacesSkipped - job.workspacesDeferred;
  const skipped =
    (notReached > 0 ? `, ${formatCount(notReached)} skipped` : '') +
    (job.workspacesDeferred > 0 ? `, ${formatCount(job.workspacesDeferred)} deferred to the next run` : '');
  if (outcome.status === 'partial') {
    return paint(
      'partial',
      'yellow',
      `${formatCount(job.workspacesFailed)} of ${total} failed${named}${skipped}; ${plural(job.totalAccountsSynced, 'account')} synced`,
    );
  }
  if (job.errorMessage) return paint('failed', 'red', job.errorMessage);
  return paint('failed', 'red', `${formatCount(job.workspacesFailed)} of ${total} failed${named}${skipped}`);
}

function failedWorkspaces(rows: JobWorkspaceRow[]): string[] {
  return sortByName(
    rows.filter((w) => w.status === 'failed'),
    (w) => w.workspace_name,
  ).map((w) => w.workspace_name);
}

function nameSome(names: string[]): string {
  if (names.length <= NAMED_FAILURES) return names.join(', ');
  return `${names.slice(0, NAMED_FAILURES).join(', ')} and ${formatCount(names.length - NAMED_FAILURES)} more`;
}
