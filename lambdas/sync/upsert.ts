import type { Sql } from '../db/client';
import type { SenderEmail } from '../emailbison/client';

export interface UpsertResult {
  /** Rows inserted or changed; unchanged accounts cost no write. */
  inserted: number;
  updated: number;
}

const INT4_MAX = 2_147_483_647;

/**
 * Writes one batch of a workspace's accounts in ONE statement: the batch travels as a
 * single jsonb parameter (no 65,534-parameter limit, no per-row round trip), is
 * recorded in the run's seen set, and is upserted on (workspace, EmailBison id).
 *
 * Only API-owned columns are named, so dashboard columns (notes, manual_price) are
 * never written. A row is rewritten only when its raw item differs or it had been
 * marked removed: the typed columns are a function of `raw`, so comparing `raw` is
 * comparing them all.
 */
export async function upsertSenderEmails(
  sql: Sql,
  target: { jobId: string; workspaceId: number },
  accounts: SenderEmail[],
  alsoSeenIds: number[] = [],
): Promise<UpsertResult> {
  const rows = dedupeById(accounts).map(toRow);
  if (rows.length === 0 && alsoSeenIds.length === 0) return { inserted: 0, updated: 0 };
  const [result] = await sql<{ inserted: number; updated: number }[]>`
    with incoming as (
      select *
      from jsonb_to_recordset(${jsonParameter(rows)}::text::jsonb) as t(
        emailbison_id bigint, email text, name text, email_signature text, daily_limit integer,
        type text, status text, tags jsonb,
        emails_sent_count integer, total_replied_count integer, unique_replied_count integer,
        total_opened_count integer, unique_opened_count integer, bounced_count integer,
        unsubscribed_count integer, interested_leads_count integer, total_leads_contacted_count integer,
        warmup_enabled boolean, emailbison_created_at timestamptz, emailbison_updated_at timestamptz,
        raw jsonb
      )
    ),
    seen as (
      insert into polling_job_seen_accounts (job_id, workspace_id, emailbison_id)
      select ${target.jobId}::uuid, ${target.workspaceId}::int, id
      from (
        select emailbison_id as id from incoming
        union
        select unnest(${alsoSeenIds}::bigint[])
      ) ids
      on conflict do nothing
    ),
    written as (
      insert into sender_emails as se (
        workspace_id, emailbison_id, email, name, email_signature, daily_limit, type, status, tags,
        emails_sent_count, total_replied_count, unique_replied_count, total_opened_count,
        unique_opened_count, bounced_count, unsubscribed_count, interested_leads_count,
        total_leads_contacted_count, warmup_enabled, emailbison_created_at, emailbison_updated_at,
        raw, last_seen_job_id, last_synced_at
      )
      select
        ${target.workspaceId}::int, emailbison_id, email, name, email_signature, daily_limit, type, status,
        coalesce(tags, '[]'::jsonb), emails_sent_count, total_replied_count, unique_replied_count,
        total_opened_count, unique_opened_count, bounced_count, unsubscribed_count, interested_leads_count,
        total_leads_contacted_count, warmup_enabled, emailbison_created_at, emailbison_updated_at,
        raw, ${target.jobId}::uuid, now()
      from incoming
      on conflict (workspace_id, emailbison_id) do update set
        email = excluded.email,
        name = excluded.name,
        email_signature = excluded.email_signature,
        daily_limit = excluded.daily_limit,
        type = excluded.type,
        status = excluded.status,
        tags = excluded.tags,
        emails_sent_count = excluded.emails_sent_count,
        total_replied_count = excluded.total_replied_count,
        unique_replied_count = excluded.unique_replied_count,
        total_opened_count = excluded.total_opened_count,
        unique_opened_count = excluded.unique_opened_count,
        bounced_count = excluded.bounced_count,
        unsubscribed_count = excluded.unsubscribed_count,
        interested_leads_count = excluded.interested_leads_count,
        total_leads_contacted_count = excluded.total_leads_contacted_count,
        warmup_enabled = excluded.warmup_enabled,
        emailbison_created_at = excluded.emailbison_created_at,
        emailbison_updated_at = excluded.emailbison_updated_at,
        raw = excluded.raw,
        last_seen_job_id = excluded.last_seen_job_id,
        last_synced_at = excluded.last_synced_at,
        deleted_at = null
      where se.raw is distinct from excluded.raw or se.deleted_at is not null
      returning (xmax = 0) as inserted
    )
    select
      count(*) filter (where inserted)::int as inserted,
      count(*) filter (where not inserted)::int as updated
    from written
  `;
  return result;
}

/** Pages can shift while they are read: the same account may arrive twice; the last copy wins. */
export function dedupeById(accounts: SenderEmail[]): SenderEmail[] {
  const byId = new Map<number, SenderEmail>();
  for (const account of accounts) byId.set(account.id, account);
  return byId.size === accounts.length ? accounts : [...byId.values()];
}

function toRow(account: SenderEmail) {
  return {
    emailbison_id: account.id,
    email: account.email,
    name: account.name,
    email_signature: account.emailSignature,
    daily_limit: int4(account.dailyLimit),
    type: account.type,
    status: account.status,
    tags: account.tags,
    emails_sent_count: int4(account.emailsSentCount),
    total_replied_count: int4(account.totalRepliedCount),
    unique_replied_count: int4(account.uniqueRepliedCount),
    total_opened_count: int4(account.totalOpenedCount),
    unique_opened_count: int4(account.uniqueOpenedCount),
    bounced_count: int4(account.bouncedCount),
    unsubscribed_count: int4(account.unsubscribedCount),
    interested_leads_count: int4(account.interestedLeadsCount),
    total_leads_contacted_count: int4(account.totalLeadsContactedCount),
    warmup_enabled: account.warmupEnabled,
    emailbison_created_at: timestamp(account.createdAt),
    emailbison_updated_at: timestamp(account.updatedAt),
    raw: account.raw,
  };
}

/** A counter too large for the column is stored as null; `raw` keeps the value as served. */
function int4(value: number | null): number | null {
  return value !== null && Number.isSafeInteger(value) && Math.abs(value) <= INT4_MAX ? value : null;
}

/** An unparseable date is stored as null rather than failing the batch; `raw` keeps it. */
function timestamp(value: string | null): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** Postgres text and jsonb cannot hold U+0000; everything else is stored verbatim. */
function jsonParameter(rows: unknown[]): string {
  return JSON.stringify(rows).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1');
}
