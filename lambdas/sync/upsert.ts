import type { Sql } from '../db/client';
import type { SenderEmail } from '../emailbison/client';
import { type BatchText, buildBatchText } from './batch-text';

export interface UpsertTarget {
  jobId: string;
  workspaceId: number;
}

export interface UpsertResult {
  /** Rows inserted or changed; unchanged accounts cost no write. */
  inserted: number;
  updated: number;
}

/** Writes one batch of a workspace's accounts and counts them as seen by the job. */
export async function upsertSenderEmails(
  sql: Sql,
  target: UpsertTarget,
  accounts: SenderEmail[],
  alsoSeenIds: number[] = [],
): Promise<UpsertResult> {
  return writeBatchText(sql, target, await buildBatchText(accounts, alsoSeenIds));
}

/**
 * One statement per batch, upserted on (workspace, EmailBison id). Invariants:
 * - Only API-owned columns are named, so dashboard columns (notes, manual_price) are
 *   never written.
 * - A row is rewritten only when its raw item differs, it had been marked removed, or a
 *   cursor walk had marked it missed (the sighting clears the mark: removal-rule.ts):
 *   the typed columns are a function of `raw`, so comparing `raw` compares them all.
 * - Every account of the batch counts as seen by the job: a written row through its
 *   last_seen_job_id, an unchanged one (and each of `alsoSeenIds`) through a row in
 *   polling_job_seen_accounts. A written row is not also put in the seen set.
 */
export async function writeBatchText(sql: Sql, target: UpsertTarget, batch: BatchText): Promise<UpsertResult> {
  const alsoSeenIds = batch.alsoSeenIds;
  if (batch.count === 0 && alsoSeenIds.length === 0) return { inserted: 0, updated: 0 };
  const [result] = await sql<{ inserted: number; updated: number }[]>`
    with incoming as (
      -- Rows are split on chr(30), the separator batch-text.ts writes. jsonb() in FROM
      -- parses each row once; as an expression it would be parsed at each use.
      select (r->>0)::bigint as emailbison_id, r->1 as raw, (r->1) || (r->2) as item
      from unnest(string_to_array(${batch.rows}::text, chr(30))) as e(row), jsonb(e.row) as r
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
        ${target.workspaceId}::int, emailbison_id, item->>'email', item->>'name', item->>'email_signature',
        (item->>'daily_limit')::int, item->>'type', item->>'status', coalesce(item->'tags', '[]'),
        (item->>'emails_sent_count')::int, (item->>'total_replied_count')::int, (item->>'unique_replied_count')::int,
        (item->>'total_opened_count')::int, (item->>'unique_opened_count')::int, (item->>'bounced_count')::int,
        (item->>'unsubscribed_count')::int, (item->>'interested_leads_count')::int, (item->>'total_leads_contacted_count')::int,
        (item->>'warmup_enabled')::boolean, (item->>'created_at')::timestamptz, (item->>'updated_at')::timestamptz,
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
        deleted_at = null,
        missed_since_job_id = null,
        first_missed_at = null
      where se.raw is distinct from excluded.raw or se.deleted_at is not null or se.missed_since_job_id is not null
      returning emailbison_id, (xmax = 0) as inserted
    ),
    -- A written row carries this job in last_seen_job_id, which is how the run knows it
    -- saw it: only the accounts it did not write are recorded here.
    seen as (
      insert into polling_job_seen_accounts (job_id, workspace_id, emailbison_id)
      select ${target.jobId}::uuid, ${target.workspaceId}::int, id
      from (
        select emailbison_id as id from incoming
        except
        select emailbison_id from written
        union
        select unnest(${alsoSeenIds}::bigint[])
      ) ids
      on conflict do nothing
    )
    select
      count(*) filter (where inserted)::int as inserted,
      count(*) filter (where not inserted)::int as updated
    from written
  `;
  return result;
}
