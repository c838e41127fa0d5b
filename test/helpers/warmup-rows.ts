import type { Sql } from '../../lambdas/db/client';

/** A live account of a workspace, as the account sync stores it (only what health reads). */
export interface AccountFixture {
  emailbisonId: number;
  email: string;
  status?: string;
  dailyLimit?: number | null;
  warmupEnabled?: boolean | null;
}

export async function insertAccounts(sql: Sql, workspaceId: number, accounts: AccountFixture[]): Promise<void> {
  if (accounts.length === 0) return;
  await sql`
    insert into sender_emails ${sql(
      accounts.map((a) => ({
        workspace_id: workspaceId,
        emailbison_id: a.emailbisonId,
        email: a.email,
        status: a.status ?? 'Connected',
        daily_limit: a.dailyLimit === undefined ? 30 : a.dailyLimit,
        warmup_enabled: a.warmupEnabled === undefined ? true : a.warmupEnabled,
        raw: sql.json({ id: a.emailbisonId }),
      })),
    )}
  `;
}

/** One account's warmup figures for a day, as the daily warmup pass writes them. */
export interface WarmupRowFixture {
  emailbisonId: number;
  day: string;
  score: number | null;
  disabledForBouncing?: number;
  jobId?: string | null;
}

export async function insertWarmupRows(sql: Sql, workspaceId: number, rows: WarmupRowFixture[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5_000) {
    await sql`
      insert into sender_email_warmup_daily ${sql(
        rows.slice(i, i + 5_000).map((r) => ({
          workspace_id: workspaceId,
          emailbison_id: r.emailbisonId,
          day: r.day,
          warmup_score: r.score,
          warmup_emails_sent: 10,
          warmup_replies_received: 4,
          warmup_emails_saved_from_spam: 0,
          warmup_bounces_received_count: 0,
          warmup_bounces_caused_count: 0,
          warmup_disabled_for_bouncing_count: r.disabledForBouncing ?? 0,
          job_id: r.jobId ?? null,
        })),
      )}
    `;
  }
}

/** A UTC day, `offset` days from today: `YYYY-MM-DD`. */
export function utcDay(offset = 0): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}
