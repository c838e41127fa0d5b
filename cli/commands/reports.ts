import { setTimeout as delay } from 'node:timers/promises';
import { findJob, jobWorkspaces, type JobRecord, type JobWorkspaceRow } from '../../lambdas/jobs/read-job';
import { accountsPerWorkspace, missingWorkspaces } from '../reports';
import { withCliContext } from '../context';
import { describeExecution } from '../aws';
import { fail } from '../output';
import { formatMs, formatTime, table, truncateText } from '../table';
import { plural, sortByName } from '../words';

export async function missingCommand(options: { json?: boolean }): Promise<void> {
  await withCliContext(async ({ db }) => {
    const rows = await missingWorkspaces(db.sql);
    if (options.json) return console.log(JSON.stringify(rows, null, 2));
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
  await withCliContext(async ({ db }) => {
    const rows = await accountsPerWorkspace(db.sql);
    const totals = rows.reduce((t, r) => ({ live: t.live + r.live, removed: t.removed + r.removed }), { live: 0, removed: 0 });
    if (options.json) return console.log(JSON.stringify({ workspaces: rows, totals }, null, 2));
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
  options: { json?: boolean; watch?: boolean; intervalSeconds?: string },
): Promise<void> {
  await withCliContext(async ({ db }) => {
    for (;;) {
      const job = await findJob(db.sql, jobId);
      if (!job) throw new Error(jobId ? `No job ${jobId} in polling_job_status.` : 'No job has run yet: `npm start` runs one.');
      const workspaces = await jobWorkspaces(db.sql, job.jobId);
      const execution = job.executionArn ? await describeExecution(job.executionArn) : undefined;
      if (options.json) console.log(JSON.stringify({ job, workspaces, execution }, null, 2));
      else printJob(job, workspaces, execution);
      if (!options.watch || job.status !== 'running') return;
      await delay(Number(options.intervalSeconds ?? 2) * 1000);
      if (!options.json) console.log('');
    }
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
    `  status                 ${job.status}`,
    `  started_at             ${formatTime(job.startedAt)}`,
    `  completed_at           ${formatTime(job.completedAt)}`,
    `  duration_ms            ${job.durationMs ?? ''}`,
    `  total_workspaces       ${job.totalWorkspaces}`,
    `  workspaces_processed   ${job.workspacesSynced}`,
    `  workspaces_failed      ${job.workspacesFailed}`,
    `  workspaces_skipped     ${job.workspacesSkipped}`,
    `  total_accounts_synced  ${job.totalAccountsSynced}`,
    `  total_accounts_removed ${job.totalAccountsRemoved}`,
    `  error_message          ${job.errorMessage ?? ''}`,
    `  warnings               ${job.warnings.length === 0 ? '(none)' : ''}`,
    ...job.warnings.map((w) => `    - ${w}`),
  ];
  if (job.executionArn) lines.push(`  execution_arn          ${job.executionArn}`);
  if (execution) lines.push(`  execution status       ${'status' in execution ? execution.status : execution.unavailable}`);
  return lines;
}
