import { type CompatSchemas, ident, literal, marker, PROVIDER_TAGS, RESELLER_WORDS } from './definitions';

/**
 * An account's email provider and reseller, as the replaced system read them from its tags,
 * kept on sender_emails as stored generated columns: computed when a row is written (a
 * microsecond or two), so the dashboard's reads, which go through every row at each page
 * load, pay nothing for them. Tags that are not an array give null, as they did there.
 */
export function derivedColumnsDdl({ app }: CompatSchemas): string {
  const a = ident(app);
  const providers = PROVIDER_TAGS.map((name) => `@.name == ${jsonString(name)}`).join(' || ');
  const resellers = RESELLER_WORDS.join('|');
  return `
alter table ${a}.sender_emails
  add column if not exists compat_email_provider text generated always as (
    case when jsonb_typeof(tags) = 'array' then jsonb_path_query_first(tags, ${literal(`$[*] ? (${providers}).name`)}) #>> '{}' end
  ) stored,
  add column if not exists compat_reseller text generated always as (
    case when jsonb_typeof(tags) = 'array' then jsonb_path_query_first(tags, ${literal(`$[*].name ? (@ like_regex ${jsonString(resellers)})`)}) #>> '{}' end
  ) stored;
comment on column ${a}.sender_emails.compat_email_provider is ${marker(`the name of the first tag that is exactly one of ${PROVIDER_TAGS.join(', ')}`)};
comment on column ${a}.sender_emails.compat_reseller is ${marker(`the name of the first tag that contains one of ${RESELLER_WORDS.join(', ')} (case-sensitive)`)};
`;
}

function jsonString(text: string): string {
  return JSON.stringify(text);
}

/**
 * email_accounts_raw (every account, removed ones with deleted_at) and email_accounts_view
 * (live ones), column for column as the replaced system's, meanings as it computed them.
 * Derived per workspace once (the ws subquery), per account only what must be.
 */
export function viewsDdl({ target, app }: CompatSchemas): string {
  const t = ident(target);
  const a = ident(app);
  return `
create or replace view ${t}.email_accounts_raw as
select
  -- A uuid, as the replaced table's id was, made from sender_emails.id: stable for the row's life.
  lpad(to_hex(se.id), 32, '0')::uuid as id,
  se.emailbison_id as bison_account_id,
  se.email as email_address,
  ws.name as workspace_name,
  ws.emailbison_workspace_id as workspace_id,
  ws.bison_instance,
  coalesce(se.status, 'Not connected') as status,
  se.type as account_type,
  coalesce(se.emails_sent_count, 0) as emails_sent_count,
  coalesce(se.total_replied_count, 0) as total_replied_count,
  coalesce(se.unique_replied_count, 0) as unique_replied_count,
  coalesce(se.bounced_count, 0) as bounced_count,
  coalesce(se.unsubscribed_count, 0) as unsubscribed_count,
  coalesce(se.interested_leads_count, 0) as interested_leads_count,
  coalesce(se.total_opened_count, 0) as total_opened_count,
  coalesce(se.unique_opened_count, 0) as unique_opened_count,
  coalesce(se.total_leads_contacted_count, 0) as total_leads_contacted_count,
  coalesce(se.daily_limit, 0) as daily_limit,
  coalesce(se.warmup_enabled, false) as warmup_enabled,
  case when se.emails_sent_count > 0
    then round(100.0 * coalesce(se.unique_replied_count, 0) / se.emails_sent_count, 2)
    else 0.00 end::numeric(12, 2) as reply_rate_percentage,
  se.compat_email_provider as email_provider,
  se.compat_reseller as reseller,
  nullif(split_part(se.email, '@', 2), '') as domain,
  round(coalesce(se.manual_price, case when rule.per_domain_mailboxes
    then rule.price / greatest(coalesce(dm.mailboxes, 1), 1) else coalesce(rule.price, 0) end), 2)::numeric(12, 2) as price,
  case when se.manual_price is not null then 'manual' else 'calculated' end as price_source,
  se.manual_price is null and coalesce(rule.price, 0) = 0 and se.compat_email_provider is not null as pricing_needs_review,
  se.notes,
  se.first_seen_at as created_at,
  greatest(se.last_synced_at, se.webhook_changed_at) as updated_at,
  -- A sync rewrites only changed rows: a live account was also seen by its workspace's last completed sync.
  case when se.deleted_at is null then greatest(se.last_synced_at, ws.last_workspace_sync) else se.last_synced_at end as last_synced_at,
  se.deleted_at
from ${a}.sender_emails se
join (
  select w.id, w.name, w.emailbison_workspace_id,
    -- The label in lower case without spaces ('Long Run' -> 'longrun'); a workspace registered by URL: its host.
    coalesce(lower(replace(w.instance_label, ' ', '')), lower(substring(w.base_url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)'))) as bison_instance,
    (select p.finished_at from ${a}.polling_job_workspaces p
      where p.workspace_id = w.id and p.status = 'synced' order by p.created_at desc limit 1) as last_workspace_sync
  from ${a}.workspaces w
  -- offset 0: computed once per workspace, not once per account.
  offset 0
) ws on ws.id = se.workspace_id
left join lateral (
  select r.price, r.per_domain_mailboxes from ${t}.compat_pricing_rules r
  where case r.field when 'reseller' then se.compat_reseller else se.compat_email_provider end is not null
    and case r.match
      when 'equals' then lower(case r.field when 'reseller' then se.compat_reseller else se.compat_email_provider end) = lower(r.pattern)
      else strpos(lower(case r.field when 'reseller' then se.compat_reseller else se.compat_email_provider end), lower(r.pattern)) > 0 end
  order by r.position
  limit 1
) rule on true
-- Looked up only for a per-domain rule's accounts (ScaledMail's): a one-time filter skips the others.
left join lateral (
  select m.mailboxes from ${t}.compat_domain_mailboxes m
  where rule.per_domain_mailboxes and m.workspace_id = se.workspace_id and m.domain = split_part(se.email, '@', 2)
    and m.domain <> ''
) dm on true;
comment on view ${t}.email_accounts_raw is ${marker("every sender account as the replaced system's email_accounts_raw, removed ones with deleted_at")};

create or replace view ${t}.email_accounts_view as
select id, bison_account_id, email_address, workspace_name, workspace_id, bison_instance, status, account_type,
  emails_sent_count, total_replied_count, unique_replied_count, bounced_count, unsubscribed_count,
  interested_leads_count, total_opened_count, unique_opened_count, total_leads_contacted_count,
  daily_limit, warmup_enabled, reply_rate_percentage, email_provider, reseller, domain,
  price, price_source, pricing_needs_review, notes, created_at, updated_at, last_synced_at
from ${t}.email_accounts_raw
where deleted_at is null
-- The dashboard pages by bison_account_id alone, which two workspaces or instances can share:
-- ordered here by id as well, its pages neither repeat nor skip a row. Its own order by
-- bison_account_id is then already met: Postgres sorts once.
order by bison_account_id, id;
comment on view ${t}.email_accounts_view is ${marker("live sender accounts as the replaced system's email_accounts_view, always current")};

create or replace function ${t}.refresh_email_accounts_view() returns void
language plpgsql as $fn$ begin null; end; $fn$;
comment on function ${t}.refresh_email_accounts_view() is ${marker(
    'kept for the callers of the replaced materialized view: email_accounts_view is a plain view, always current, so there is nothing to refresh',
  )};
`;
}
