import type { Sql } from '../db/client';
import type { DigestSection } from '../digests/message';
import { describeAlert, formatScore, jobWarmupAlerts, type WarmupThresholds, type WorkspaceWarmupAlerts } from './warmup-alerts';

/** What a digest says of warmup health: the alerts of the warmup rows its job wrote (warmup-alerts.ts). */
export interface WarmupDigest {
  /** The day the warmup pass read (YYYY-MM-DD); null for a job that read none. */
  day: string | null;
  thresholds: WarmupThresholds;
  workspaces: WorkspaceWarmupAlerts[];
}

/** The command that lists every account's warmup health: named where a digest leaves alerts out. */
export const HEALTH_COMMAND = 'sender-sync health';

export function warmupAlertCount(warmup: WarmupDigest | undefined): number {
  return warmup?.workspaces.reduce((sum, w) => sum + w.alerts.length + w.notListed, 0) ?? 0;
}

/** One section per workspace with alerts: "Acme: warmup health, 3 accounts (down 10+ points, under 50, or disabled for bouncing)". */
export function warmupSections(warmup: WarmupDigest): DigestSection[] {
  const { dropPoints, floor } = warmup.thresholds;
  const why = `down ${formatScore(dropPoints)}+ points since the previous day, under ${formatScore(floor)}, or disabled for bouncing`;
  return warmup.workspaces.map((w) => {
    const accounts = w.alerts.length + w.notListed;
    return {
      heading: `${w.workspace}: warmup health, ${accounts} ${accounts === 1 ? 'account' : 'accounts'} (${why})`,
      lines: w.alerts.map((alert) => `  ${describeAlert(alert, warmup.thresholds)}`),
      accounts,
      notListed: w.notListed,
      command: HEALTH_COMMAND,
    };
  });
}

/** The warmup part of a job's digest: the alerts of the rows it wrote, at most `listed` per workspace. */
export async function readWarmupDigest(sql: Sql, jobId: string, thresholds: WarmupThresholds, listed: number): Promise<WarmupDigest> {
  const [job] = await sql<{ day: string | null }[]>`select warmup_day::text as day from polling_job_status where id = ${jobId}::uuid`;
  return { day: job?.day ?? null, thresholds, workspaces: await jobWarmupAlerts(sql, jobId, thresholds, listed) };
}
