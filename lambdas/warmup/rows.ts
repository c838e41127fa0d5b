import type { Sql } from '../db/client';
import type { SenderEmail } from '../emailbison/client';

/*
 * sender_email_warmup_daily (migration 019): one row per account and UTC day, the figures of
 * GET /api/warmup/sender-emails?start_date=day&end_date=day. A row is written when it is new
 * or a figure changed, and then carries the job that wrote it; an unchanged row is left alone,
 * so a second pass the same day writes nothing.
 */

/** One account's warmup figures for the day, as stored. */
export interface WarmupRow {
  emailbisonId: number;
  warmupScore: number | null;
  warmupEmailsSent: number | null;
  warmupRepliesReceived: number | null;
  warmupEmailsSavedFromSpam: number | null;
  warmupBouncesReceivedCount: number | null;
  warmupBouncesCausedCount: number | null;
  warmupDisabledForBouncingCount: number | null;
}

/** numeric(6, 2): a score past it (or not a number) is stored as unknown rather than failing the batch. */
const MAX_SCORE = 9999.99;
/** integer columns. */
const MAX_COUNT = 2_147_483_647;

/** The figures of a listed item (the walker parsed its id and email; the figures are in its raw item). */
export function warmupRow(item: SenderEmail): WarmupRow {
  const raw = item.raw;
  return {
    emailbisonId: item.id,
    warmupScore: score(raw.warmup_score),
    warmupEmailsSent: count(raw.warmup_emails_sent),
    warmupRepliesReceived: count(raw.warmup_replies_received),
    warmupEmailsSavedFromSpam: count(raw.warmup_emails_saved_from_spam),
    warmupBouncesReceivedCount: count(raw.warmup_bounces_received_count),
    warmupBouncesCausedCount: count(raw.warmup_bounces_caused_count),
    warmupDisabledForBouncingCount: count(raw.warmup_disabled_for_bouncing_count),
  };
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

function score(value: unknown): number | null {
  const n = numeric(value);
  return n === undefined || Math.abs(n) > MAX_SCORE ? null : Math.round(n * 100) / 100;
}

function count(value: unknown): number | null {
  const n = numeric(value);
  return n === undefined || !Number.isInteger(n) || n < 0 || n > MAX_COUNT ? null : n;
}

/**
 * Upserts one batch in one statement; returns the rows written (new or changed). An account
 * listed twice (pages shift while read) is written once, with its last figures.
 */
export async function upsertWarmupRows(
  sql: Sql,
  target: { workspaceId: number; day: string; jobId: string },
  rows: readonly WarmupRow[],
): Promise<number> {
  const latest = [...new Map(rows.map((row) => [row.emailbisonId, row])).values()];
  if (latest.length === 0) return 0;
  const column = <K extends keyof WarmupRow>(key: K) => latest.map((row) => row[key]);
  const written = await sql`
    insert into sender_email_warmup_daily as d (
      workspace_id, emailbison_id, warmup_score, warmup_emails_sent, warmup_replies_received,
      warmup_emails_saved_from_spam, warmup_bounces_received_count, warmup_bounces_caused_count,
      warmup_disabled_for_bouncing_count, day, job_id
    )
    select ${target.workspaceId}::int, t.*, ${target.day}::date, ${target.jobId}::uuid from (
      select * from unnest(
        ${column('emailbisonId')}::bigint[], ${column('warmupScore')}::numeric[], ${column('warmupEmailsSent')}::int[],
        ${column('warmupRepliesReceived')}::int[], ${column('warmupEmailsSavedFromSpam')}::int[],
        ${column('warmupBouncesReceivedCount')}::int[], ${column('warmupBouncesCausedCount')}::int[],
        ${column('warmupDisabledForBouncingCount')}::int[]
      )
    ) t
    on conflict (workspace_id, emailbison_id, day) do update set
      warmup_score = excluded.warmup_score,
      warmup_emails_sent = excluded.warmup_emails_sent,
      warmup_replies_received = excluded.warmup_replies_received,
      warmup_emails_saved_from_spam = excluded.warmup_emails_saved_from_spam,
      warmup_bounces_received_count = excluded.warmup_bounces_received_count,
      warmup_bounces_caused_count = excluded.warmup_bounces_caused_count,
      warmup_disabled_for_bouncing_count = excluded.warmup_disabled_for_bouncing_count,
      job_id = excluded.job_id,
      written_at = now()
    where (d.warmup_score, d.warmup_emails_sent, d.warmup_replies_received, d.warmup_emails_saved_from_spam,
           d.warmup_bounces_received_count, d.warmup_bounces_caused_count, d.warmup_disabled_for_bouncing_count)
      is distinct from
          (excluded.warmup_score, excluded.warmup_emails_sent, excluded.warmup_replies_received, excluded.warmup_emails_saved_from_spam,
           excluded.warmup_bounces_received_count, excluded.warmup_bounces_caused_count, excluded.warmup_disabled_for_bouncing_count)
    returning 1
  `;
  return written.length;
}
