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
  options: { fetchedAtMs?: number } = {},
): Promise<UpsertResult> {
  return writeBatchText(sql, target, await buildBatchText(accounts, alsoSeenIds, options.fetchedAtMs));
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
 * - History in the same statement: each written row is compared with the row as it was
 *   (`old`: every part of one statement reads the same snapshot, so it sees the rows
 *   before this write) and a sender_email_changes row is inserted per field that changed
 *   (status, daily_limit, warmup_enabled, tags by name, a removed account restored, and
 *   `added` for a new row once the workspace has completed a sync: its first sync is the
 *   baseline, not N additions), or `readded` (old id -> new id) when the new row's email is
 *   that of another account of the workspace, removed or not seen by this job (id churn:
 *   EmailBison gives a removed and re-added inbox a new id); sender_email_daily rows when the counters moved (today's,
 *   and the old counters' day as its base when that day has no row yet). An unchanged
 *   account is not written, so it records nothing.
 * - A webhook change newer than the batch's pages (webhook_changed_at later than
 *   `batch.fetchedAtMs`) is not undone: status, tags and deleted_at stay, and no change row
 *   is written for them; `raw` takes the row's status and tags, so the next sync's page
 *   rewrites the row if EmailBison then says otherwise.
 */
export async function writeBatchText(sql: Sql, target: UpsertTarget, batch: BatchText): Promise<UpsertResult> {
  const alsoSeenIds = batch.alsoSeenIds;
  if (batch.count === 0 && alsoSeenIds.length === 0) return { inserted: 0, updated: 0 };
  const fetchedAt = batch.fetchedAtMs === undefined ? null : new Date(batch.fetchedAtMs);
  const [result] = await sql<{ inserted: number; updated: number }[]>`
    with incoming as (
      -- Rows are split on chr(30), the separator batch-text.ts writes. jsonb() in FROM
      -- parses each row once; as an expression it would be parsed at each use.
      select (r->>0)::bigint as emailbison_id, r->1 as raw, (r->1) || (r->2) as item
      from unnest(string_to_array(${batch.rows}::text, chr(30))) as e(row), jsonb(e.row) as r
    ),
    old as (
      select se.emailbison_id, se.status, se.daily_limit, se.warmup_enabled, se.tags, se.deleted_at, se.last_synced_at,
        se.emails_sent_count, se.total_replied_count, se.unique_replied_count, se.total_opened_count,
        se.unique_opened_count, se.bounced_count, se.interested_leads_count, se.total_leads_contacted_count
      -- One index probe per incoming account. Joined plainly, the planner hashes the whole
      -- workspace (26,000 rows read for a batch of 2,000 new ones); LIMIT 1 (the key is unique)
      -- keeps the LATERAL from being flattened into that join.
      from incoming i
      cross join lateral (
        select * from sender_emails s where s.workspace_id = ${target.workspaceId}::int and s.emailbison_id = i.emailbison_id
        limit 1
      ) se
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
        status = case when se.webhook_changed_at > ${fetchedAt}::timestamptz then se.status else excluded.status end,
        tags = case when se.webhook_changed_at > ${fetchedAt}::timestamptz then se.tags else excluded.tags end,
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
        raw = case when se.webhook_changed_at > ${fetchedAt}::timestamptz
          then excluded.raw || jsonb_build_object('status', se.status, 'tags', se.tags)
          else excluded.raw end,
        last_seen_job_id = excluded.last_seen_job_id,
        last_synced_at = excluded.last_synced_at,
        deleted_at = case when se.webhook_changed_at > ${fetchedAt}::timestamptz then se.deleted_at end,
        missed_since_job_id = null,
        first_missed_at = null
      where se.raw is distinct from excluded.raw or se.deleted_at is not null or se.missed_since_job_id is not null
      returning se.emailbison_id, (xmax = 0) as inserted, se.email, se.status, se.daily_limit, se.warmup_enabled, se.tags,
        se.deleted_at, se.emails_sent_count, se.total_replied_count, se.unique_replied_count, se.total_opened_count,
        se.unique_opened_count, se.bounced_count, se.interested_leads_count, se.total_leads_contacted_count
    ),
    -- The workspace has completed a sync: its first is the baseline, not N additions.
    baseline as (
      select exists (
        select from polling_job_workspaces p
        where p.workspace_id = ${target.workspaceId}::int and p.status = 'synced' and p.job_id <> ${target.jobId}::uuid
      ) as done
    ),
    -- Id churn (012): a new id whose email is that of another account of the workspace, removed
    -- or not seen by this job (nor in this batch), is that account re-added under a new id.
    -- Only new rows are probed, and only after the baseline: a batch with no new id scans
    -- nothing here (a hash join whose one side is empty reads no other), and a first sync
    -- costs nothing more. No index on lower(email) (003 dropped it for the write path's sake):
    -- the workspace's rows are read once, for the batches that bring new ids.
    readded as (
      select distinct on (w.emailbison_id) w.emailbison_id, w.email, p.emailbison_id as old_id
      from written w
      join sender_emails p on p.workspace_id = ${target.workspaceId}::int and lower(p.email) = lower(w.email)
        and p.emailbison_id <> w.emailbison_id
      where w.inserted and (select done from baseline)
        and p.emailbison_id not in (select emailbison_id from incoming)
        and (p.deleted_at is not null or (
          p.last_seen_job_id is distinct from ${target.jobId}::uuid
          and not exists (
            select from polling_job_seen_accounts s
            where s.job_id = ${target.jobId}::uuid and s.workspace_id = ${target.workspaceId}::int and s.emailbison_id = p.emailbison_id
          )
        ))
      -- The account that just went missing before one removed long ago.
      order by w.emailbison_id, p.deleted_at is not null, p.deleted_at desc, p.emailbison_id desc
    ),
    changes as (
      insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, source, job_id)
      select ${target.workspaceId}::int, w.emailbison_id, w.email, c.field, c.old_value, c.new_value, 'sync', ${target.jobId}::uuid
      from written w
      join old o on o.emailbison_id = w.emailbison_id
      cross join lateral (values
        ('removed', 'true'::jsonb, 'false'::jsonb, o.deleted_at is not null and w.deleted_at is null),
        ('status', to_jsonb(o.status), to_jsonb(w.status), o.status is distinct from w.status),
        ('daily_limit', to_jsonb(o.daily_limit), to_jsonb(w.daily_limit), o.daily_limit is distinct from w.daily_limit),
        ('warmup_enabled', to_jsonb(o.warmup_enabled), to_jsonb(w.warmup_enabled), o.warmup_enabled is distinct from w.warmup_enabled),
        -- Tag names only where the tags differ at all: most rewritten rows keep theirs.
        ('tags',
          case when o.tags is distinct from w.tags then sender_email_tag_names(o.tags) end,
          case when o.tags is distinct from w.tags then sender_email_tag_names(w.tags) end,
          case when o.tags is distinct from w.tags then sender_email_tag_names(o.tags) is distinct from sender_email_tag_names(w.tags) else false end)
      ) as c(field, old_value, new_value, changed)
      where c.changed
      union all
      select ${target.workspaceId}::int, w.emailbison_id, w.email, 'added', null, to_jsonb(w.status), 'sync', ${target.jobId}::uuid
      from written w
      where w.inserted and (select done from baseline) and w.emailbison_id not in (select emailbison_id from readded)
      union all
      select ${target.workspaceId}::int, r.emailbison_id, r.email, 'readded', to_jsonb(r.old_id), to_jsonb(r.emailbison_id), 'sync', ${target.jobId}::uuid
      from readded r
    ),
    -- Counters that moved: today's row (UTC), and, when the old counters were last written on
    -- an earlier day, that day's row with them if it has none (a new account's first totals
    -- become its base only once they move, so a first sync writes no daily row).
    counters_moved as (
      select w.emailbison_id, (o.last_synced_at at time zone 'UTC')::date as old_day,
        o.emails_sent_count as old_sent, o.total_replied_count as old_replied, o.unique_replied_count as old_unique_replied,
        o.total_opened_count as old_opened, o.unique_opened_count as old_unique_opened, o.bounced_count as old_bounced,
        o.interested_leads_count as old_interested, o.total_leads_contacted_count as old_contacted,
        w.emails_sent_count, w.total_replied_count, w.unique_replied_count, w.total_opened_count, w.unique_opened_count,
        w.bounced_count, w.interested_leads_count, w.total_leads_contacted_count
      from written w
      join old o on o.emailbison_id = w.emailbison_id
      where (o.emails_sent_count, o.total_replied_count, o.unique_replied_count, o.total_opened_count, o.unique_opened_count,
             o.bounced_count, o.interested_leads_count, o.total_leads_contacted_count)
        is distinct from
            (w.emails_sent_count, w.total_replied_count, w.unique_replied_count, w.total_opened_count, w.unique_opened_count,
             w.bounced_count, w.interested_leads_count, w.total_leads_contacted_count)
    ),
    daily_base as (
      insert into sender_email_daily (
        workspace_id, emailbison_id, day, emails_sent_count, total_replied_count, unique_replied_count,
        total_opened_count, unique_opened_count, bounced_count, interested_leads_count, total_leads_contacted_count
      )
      select ${target.workspaceId}::int, emailbison_id, old_day, old_sent, old_replied, old_unique_replied, old_opened,
        old_unique_opened, old_bounced, old_interested, old_contacted
      from counters_moved
      where old_day < (now() at time zone 'UTC')::date
      on conflict (workspace_id, emailbison_id, day) do nothing
    ),
    daily as (
      insert into sender_email_daily as d (
        workspace_id, emailbison_id, day, emails_sent_count, total_replied_count, unique_replied_count,
        total_opened_count, unique_opened_count, bounced_count, interested_leads_count, total_leads_contacted_count
      )
      select ${target.workspaceId}::int, emailbison_id, (now() at time zone 'UTC')::date, emails_sent_count,
        total_replied_count, unique_replied_count, total_opened_count, unique_opened_count, bounced_count,
        interested_leads_count, total_leads_contacted_count
      from counters_moved
      on conflict (workspace_id, emailbison_id, day) do update set
        emails_sent_count = excluded.emails_sent_count,
        total_replied_count = excluded.total_replied_count,
        unique_replied_count = excluded.unique_replied_count,
        total_opened_count = excluded.total_opened_count,
        unique_opened_count = excluded.unique_opened_count,
        bounced_count = excluded.bounced_count,
        interested_leads_count = excluded.interested_leads_count,
        total_leads_contacted_count = excluded.total_leads_contacted_count,
        updated_at = now()
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
