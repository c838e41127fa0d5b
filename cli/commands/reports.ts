import { setTimeout as delay } from 'node:timers/promises';
import { JobNotFoundError } from '../../lambdas/errors';
import { findJob, jobColumns, jobWorkspaces, listJobs, type JobRecord, type JobWorkspaceRow } from '../../lambdas/jobs/read-job';
import { accountsPerWorkspace, missingWorkspaces } from '../reports';
import { withReadContext } from '../context';
import { describeExecution } from '../aws';
import { EXIT, fail, printJson } from '../output';
import { formatMs, formatTime, table, truncateText } from '../table';
import { plural, sortByName } from '../words';
import { visible } from '../terminal-text';

export async function missingCommand(options: { json?: boolean }): Promise<void> {
  await withReadContext(async ({ db }) => {
    const rows = await db.read(missingWorkspaces);
    if (options.json) return printJson({ workspaces: rows });
    if (rows.length === 0) return console.log('Every active workspace has live accounts.');
    console.log(`${plural(rows.length, 'active workspace')} with no live accounts:\n`);
    console.log(
      table(
        ['workspace', 'removed', 'last sync', 'last status', 'last error or warning'],
        rows.map((r) => [
          r.name,
          r.removed_accounts,
          formatTime(r.last_synced_at),
          r.last_status ?? 'never synced',
          truncateText(r.last_error, 80),
        ]),
      ),
    );
  }).catch(fail);
}

export async function accountsCommand(options: { json?: boolean }): Promise<void> {
  await withReadContext(async ({ db }) => {
    const rows = await db.read(accountsPerWorkspace);
    const totals = {
      workspaces: rows.length,
      live: rows.reduce((sum, r) => sum + r.live, 0),
      removed: rows.reduce((sum, r) => sum + r.removed, 0),
    };
    if (options.json) return printJson({ workspaces: rows, totals });
    console.log(
      table(
        ['workspace', 'live', 'removed', 'last synced', 'last job status'],
        [
          ...rows.map((r) => [r.name, r.live, r.removed, formatTime(r.last_synced_at), r.last_status ?? 'never synced']),
          [`total (${plural(rows.length, 'workspace')})`, totals.live, totals.removed, '', ''],
        ],
      ),
    );
  }).catch(fail);
}

export async function statusCommand(
  jobId: string | undefined,
  options: { json?: boolean; watch?: boolean; intervalSeconds?: number; exitStatus?: boolean; warmup?: boolean },
): Promise<void> {
  // Without an id: the latest account sync (what "last sync" means), or with --warmup the latest warmup pass.
  const mode = options.warmup ? 'warmup' : 'sync';
  await withReadContext(async ({ db }) => {
    for (;;) {
      const job = await db.read((sql) => findJob(sql, jobId, jobId ? {} : { mode }));
      if (!job) {
        const none =
          mode === 'warmup'
            ? 'No warmup pass has run yet: `sender-sync run --warmup` runs one.'
            : 'No job has run yet: `npm start` runs one.';
        throw new JobNotFoundError(jobId ? `No job ${jobId} in polling_job_status.` : none);
      }
      const workspaces = await db.read((sql) => jobWorkspaces(sql, job.jobId));
      const execution = job.executionArn ? await describeExecution(job.executionArn) : undefined;
      const last = !options.watch || job.status !== 'running';
      // --watch --json prints the one JSON value when the job ends: stdout stays one document.
      if (options.json && last) printJson({ job: jobColumns(job), workspaces, execution: executionJson(execution) });
      else if (!options.json) printJob(job, workspaces, execution);
      if (last) {
        if (options.exitStatus) process.exitCode = JOB_EXIT[job.status];
        return;
      }
      await delay(Number(options.intervalSeconds ?? 2) * 1000);
      if (!options.json) console.log('');
    }
  }).catch(fail);
}

/** `status --exit-status`, as `gh run view --exit-status`: the latest job's outcome as the exit code. */
const JOB_EXIT: Record<JobRecord['status'], number> = {
  completed: EXIT.completed,
  running: EXIT.completed,
  partial: EXIT.partial,
  failed: EXIT.failed,
};

function executionJson(execution: Awaited<ReturnType<typeof describeExecution>> | undefined) {
  if (!execution) return null;
  if ('unavailable' in execution) return { status: null, unavailable: execution.unavailable };
  return {
    status: execution.status,
    stop_date: execution.stopDate ?? null,
    error: execution.error ?? null,
    cause: execution.cause ?? null,
  };
}

export async function jobsCommand(options: { json?: boolean; limit?: number }): Promise<void> {
  await withReadContext(async ({ db }) => {
    const jobs = await db.read((sql) => listJobs(sql, options.limit ?? 10));
    if (options.json) return printJson({ jobs: jobs.map(jobColumns) });
    if (jobs.length === 0) return console.log('No job has run yet: `npm start` runs one.');
    console.log(
      table(
        ['id', 'pass', 'started', 'status', 'workspaces', 'accounts', 'time', 'trigger'],
        jobs.map((j) => [
          j.jobId,
          j.runMode === 'warmup' ? `warmup ${j.warmupDay ?? ''}`.trim() : 'sync',
          formatTime(j.startedAt),
          j.status,
          `${j.workspacesSynced}/${j.totalWorkspaces}${j.workspacesFailed > 0 ? ` (${j.workspacesFailed} failed)` : ''}`,
          j.totalAccountsSynced,
          formatMs(j.durationMs),
          j.triggerSource,
        ]),
      ),
    );
  }).catch(fail);
}

export function printJob(job: JobRecord, workspaces: JobWorkspaceRow[], execution?: { status: string } | { unavailable: string }) {
  console.log(workspaceTable(workspaces));
  console.log('');
  console.log(jobSummaryLines(job, execution).join('\n'));
}

export function workspaceTable(workspaces: JobWorkspaceRow[]): string {
  return table(
    ['workspace', 'accounts', 'written', 'removed', 'pages', 'requests', 'retries', 'time', 'status / warning'],
    sortByName(workspaces, (w) => w.workspace_name).map((w) => [
      w.workspace_name,
      w.accounts_synced,
      w.accounts_written,
      w.accounts_removed,
      w.pages,
      w.api_requests,
      w.retries,
      formatMs(w.duration_ms),
      truncateText(w.error ? `${w.status}: ${w.error}` : w.warnings.length > 0 ? `${w.status}: ${w.warnings[0]}` : w.status, 90),
    ]),
  );
}

export function jobSummaryLines(job: JobRecord, execution?: { status: string } | { unavailable: string }): string[] {
  const lines = [
    `polling_job_status ${job.jobId}`,
    `  job_name               ${job.jobName}`,
    ...(job.runMode === 'warmup'
      ? [`  warmup_day             ${job.warmupDay ?? ''} (the warmup pass: accounts = accounts with figures for the day)`]
      : []),
    `  status                 ${job.status}`,
    `  started_at             ${formatTime(job.startedAt)}`,
    `  completed_at           ${formatTime(job.completedAt)}`,
    `  duration_ms            ${job.durationMs ?? ''}`,
    `  total_workspaces       ${job.totalWorkspaces}`,
    `  workspaces_processed   ${job.workspacesSynced}`,
    `  workspaces_failed      ${job.workspacesFailed}`,
    `  workspaces_skipped     ${job.workspacesSkipped}`,
    ...(job.workspacesDeferred > 0 ? [`  workspaces_deferred    ${job.workspacesDeferred} (of the skipped)`] : []),
    `  total_accounts_synced  ${job.totalAccountsSynced}`,
    `  total_accounts_removed ${job.totalAccountsRemoved}`,
    `  error_message          ${job.errorMessage ?? ''}`,
    `  warnings               ${job.warnings.length === 0 ? '(none)' : ''}`,
    ...job.warnings.map((w) => `    - ${w}`),
  ];
  if (job.executionArn) lines.push(`  execution_arn          ${job.executionArn}`);
  if (execution) lines.push(`  execution status       ${'status' in execution ? execution.status : execution.unavailable}`);
  // Warnings and errors quote EmailBison: shown escaped (terminal-text.ts).
  return lines.map(visible);
}
