import type { Sql } from '../../lambdas/db/client';
import { WorkspaceNotFoundError } from '../../lambdas/errors';
import { type HealthReport, HEALTH_ALERTS_LISTED, readHealth, type WorkspaceHealth } from '../../lambdas/health/summary';
import { describeAlert, formatScore } from '../../lambdas/health/warmup-alerts';
import { listWorkspaces } from '../../lambdas/workspaces/registry';
import { withReadContext } from '../context';
import { fail, printJson } from '../output';
import { table } from '../table';
import { visible } from '../terminal-text';
import { formatCount, plural, sortByName } from '../words';

/**
 * The workspaces `--workspaces` names (registered, active or not), else every active one.
 * Unknown names are a usage error naming each of them.
 */
async function chosenWorkspaces(sql: Sql, names: string | undefined): Promise<{ id: number; name: string }[]> {
  const wanted = names
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const registered = await listWorkspaces(sql, { activeOnly: !wanted });
  const chosen = wanted ? registered.filter((w) => wanted.includes(w.name)) : registered;
  const unknown = (wanted ?? []).filter((name) => !registered.some((w) => w.name === name));
  if (unknown.length > 0) {
    throw new WorkspaceNotFoundError(
      `No workspace named ${unknown.map((name) => `"${name}"`).join(', ')} is registered: \`sender-sync workspaces list --all\` shows the names.`,
    );
  }
  return sortByName(chosen, (w) => w.name);
}

export async function healthCommand(options: { workspaces?: string; json?: boolean }): Promise<void> {
  await withReadContext(async ({ db, config }) => {
    const thresholds = { dropPoints: config.warmupScoreDropPoints, floor: config.warmupScoreFloor };
    const report = await db.read(async (sql) => readHealth(sql, await chosenWorkspaces(sql, options.workspaces), thresholds));
    if (options.json) return printJson(report);
    printHealth(report);
  }).catch(fail);
}

const score = (value: number | null) => (value === null ? '' : formatScore(value));

function printHealth(report: HealthReport): void {
  if (report.workspaces.length === 0) {
    console.log('No active workspace is registered: `sender-sync workspaces add` adds one.');
    return;
  }
  const { totals } = report;
  console.log(
    table(
      [
        'workspace',
        'connected',
        'disconnected',
        'warmup off',
        'bounce-disabled',
        'capacity ready',
        'capacity connected',
        'median score',
        'warmup day',
      ],
      [
        ...report.workspaces.map((w) => [
          w.workspace,
          w.connected,
          w.disconnected,
          w.warmupDisabled,
          w.disabledForBouncing,
          w.capacity.ready,
          w.capacity.connected,
          score(w.medianScore),
          w.warmupDay ?? 'none',
        ]),
        [
          `total (${plural(totals.workspaces, 'workspace')})`,
          totals.connected,
          totals.disconnected,
          totals.warmupDisabled,
          totals.disabledForBouncing,
          totals.capacity.ready,
          totals.capacity.connected,
          '',
          '',
        ],
      ],
    ),
  );
  const { dropPoints, floor } = report.thresholds;
  console.log(
    `\nCapacity: daily_limit summed over connected accounts, "ready" those with warmup off or finished (warmup_enabled false or unknown).` +
      `\nAlerts: down ${formatScore(dropPoints)}+ points since the previous day, fallen under ${formatScore(floor)}, or disabled for bouncing.`,
  );
  for (const w of report.workspaces) {
    const lines = workspaceLines(w, report);
    if (lines.length > 0) console.log(['', ...lines].map(visible).join('\n'));
  }
}

/** A workspace's alerts and worst accounts on its latest warmup day; nothing when it has neither. */
function workspaceLines(w: WorkspaceHealth, report: HealthReport): string[] {
  if (w.alerts.length === 0 && w.worst.length === 0) return [];
  const lines = [`${w.workspace}, warmup of ${w.warmupDay} (median ${score(w.medianScore)}):`];
  if (w.alerts.length > 0) {
    lines.push(`  ${plural(w.alerts.length + w.alertsNotListed, 'alert')}:`);
    lines.push(...w.alerts.map((alert) => `    ${describeAlert(alert, report.thresholds)}`));
    if (w.alertsNotListed > 0)
      lines.push(`    … and ${formatCount(w.alertsNotListed)} more (at most ${HEALTH_ALERTS_LISTED} a workspace are listed)`);
  }
  if (w.worst.length > 0) {
    lines.push(
      `  lowest scores: ${w.worst.map((a) => `${a.email ?? `account ${a.emailbisonId}`} ${formatScore(a.score)}${a.disabledForBouncing ? ' (bounce-disabled)' : ''}`).join(', ')}`,
    );
  }
  return lines;
}
