/*
 * The relations the replaced system's dashboard reads, as sender-sync provides them over its
 * own tables (issue 23). Plain views, so every read sees what sender_emails holds now; the
 * one figure a view cannot afford per row (a workspace's mailboxes on a domain, for
 * ScaledMail's price) is kept by statement-level triggers in compat_domain_mailboxes.
 * Every object carries COMPAT_MARKER in its comment: what install, status and uninstall go by.
 *
 * DDL takes no bind parameters: the schema names are quoted identifiers (ident), and the
 * only literals are this file's own.
 */

export const COMPAT_VERSION = 1;
export const COMPAT_MARKER = 'sender-sync compat';

/** What `compat install` creates in the dashboard's schema, in creation order. */
export const COMPAT_RELATIONS = [
  { name: 'compat_pricing_rules', kind: 'table' },
  { name: 'compat_domain_mailboxes', kind: 'table' },
  { name: 'sync_progress', kind: 'table' },
  { name: 'email_accounts_raw', kind: 'view' },
  { name: 'email_accounts_view', kind: 'view' },
] as const;

export const COMPAT_FUNCTIONS = [
  'refresh_email_accounts_view',
  'compat_mailboxes_added',
  'compat_mailboxes_changed',
  'compat_mailboxes_removed',
  'compat_mailboxes_cleared',
  'compat_progress_job_started',
  'compat_progress_job_changed',
  'compat_progress_workspaces_added',
  'compat_progress_workspace_changed',
] as const;

/** Triggers on sender-sync's own tables (in the schema of sender_emails). */
export const COMPAT_TRIGGERS = [
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_insert' },
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_update' },
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_delete' },
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_truncate' },
  { table: 'polling_job_status', name: 'sender_sync_compat_progress_insert' },
  { table: 'polling_job_status', name: 'sender_sync_compat_progress_update' },
  { table: 'polling_job_workspaces', name: 'sender_sync_compat_progress_insert' },
  { table: 'polling_job_workspaces', name: 'sender_sync_compat_progress_update' },
] as const;

/** The replaced system's price rules (poll-sender-emails' calculatePricing), first match wins. */
export const DEFAULT_PRICING_RULES = [
  { position: 10, field: 'reseller', match: 'contains', pattern: 'cheapinboxes', price: '3.00', perDomain: false },
  { position: 20, field: 'reseller', match: 'equals', pattern: 'zapmail', price: '3.00', perDomain: false },
  { position: 30, field: 'reseller', match: 'equals', pattern: 'mailr', price: '0.91', perDomain: false },
  { position: 40, field: 'reseller', match: 'equals', pattern: 'scaledmail', price: '50.00', perDomain: true },
  { position: 50, field: 'provider', match: 'equals', pattern: 'google', price: '3.00', perDomain: false },
  { position: 60, field: 'provider', match: 'equals', pattern: 'gmail', price: '3.00', perDomain: false },
] as const;

/** The tag names the replaced system read (extractProvider: equal, case-sensitive; extractReseller: contained, case-sensitive). */
export const PROVIDER_TAGS = ['Gmail', 'Outlook', 'Microsoft', 'Google', 'Yahoo', 'iCloud', 'AOL'] as const;
export const RESELLER_WORDS = ['CheapInboxes', 'Zapmail', 'ScaledMail', 'Mailr', 'Inbox', 'Reseller'] as const;

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function marker(what: string): string {
  return literal(`${COMPAT_MARKER} v${COMPAT_VERSION}: ${what}`);
}

export interface CompatSchemas {
  /** Where the dashboard reads (public on Supabase). */
  target: string;
  /** Where sender-sync's tables are (the schema of sender_emails). */
  app: string;
}

/** The tables: created once, kept by a re-install of another version (their rows are the operator's and the runs'). */
export function tablesDdl({ target, app }: CompatSchemas): string {
  const t = ident(target);
  const rules = DEFAULT_PRICING_RULES.map(
    (r) => `(${r.position}, ${literal(r.field)}, ${literal(r.match)}, ${literal(r.pattern)}, ${r.price}, ${r.perDomain})`,
  ).join(',\n  ');
  return `
create table if not exists ${t}.compat_pricing_rules (
  position integer not null constraint compat_pricing_rules_pkey primary key,
  field text not null constraint compat_pricing_rules_field check (field in ('reseller', 'provider')),
  match text not null constraint compat_pricing_rules_match check (match in ('equals', 'contains')),
  pattern text not null constraint compat_pricing_rules_pattern check (btrim(pattern) <> ''),
  price numeric(12, 2) not null constraint compat_pricing_rules_price check (price >= 0),
  per_domain_mailboxes boolean not null default false,
  updated_at timestamptz not null default now()
);
comment on table ${t}.compat_pricing_rules is ${marker(
    "price rules of email_accounts_view, tried by position, first match wins; match is case-insensitive on the account's reseller or provider; per_domain_mailboxes divides price by the workspace's live mailboxes on the account's domain",
  )};
insert into ${t}.compat_pricing_rules (position, field, match, pattern, price, per_domain_mailboxes) values
  ${rules}
on conflict (position) do nothing;

create table if not exists ${t}.compat_domain_mailboxes (
  workspace_id integer not null,
  domain text not null,
  mailboxes integer not null,
  constraint compat_domain_mailboxes_pkey primary key (workspace_id, domain)
);
comment on table ${t}.compat_domain_mailboxes is ${marker(
    `live sender_emails per (workspace, domain), kept by triggers on ${app}.sender_emails: ScaledMail's price divides by it`,
  )};

create table if not exists ${t}.sync_progress (
  id uuid not null default gen_random_uuid() constraint compat_sync_progress_pkey primary key,
  job_id uuid not null,
  job_name text not null,
  total_workspaces integer not null default 0,
  workspaces_completed integer default 0,
  current_workspace text,
  total_accounts integer default 0,
  status text default 'running' constraint compat_sync_progress_status check (status in ('running', 'completed', 'failed')),
  error_message text,
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz
);
create unique index if not exists compat_sync_progress_job_id_idx on ${t}.sync_progress (job_id);
create index if not exists compat_sync_progress_status_idx on ${t}.sync_progress (status);
create index if not exists compat_sync_progress_started_idx on ${t}.sync_progress (started_at desc);
comment on table ${t}.sync_progress is ${marker(
    `one row per run, kept current by triggers on ${app}.polling_job_status and polling_job_workspaces`,
  )};
`;
}

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

export const DERIVED_COLUMNS = ['compat_email_provider', 'compat_reseller'] as const;

function jsonString(text: string): string {
  return JSON.stringify(text);
}

/**
 * The mailbox counts: one statement-level trigger per event, each folding the statement's
 * transition rows into per-(workspace, domain) deltas. A statement that changes neither an
 * email nor deleted_at (a sync's counter updates) nets to no delta and writes nothing.
 * Deltas are applied in key order, so two writers of one workspace cannot deadlock here.
 */
export function mailboxesDdl({ target, app }: CompatSchemas): string {
  const t = ident(target);
  const a = ident(app);
  const fold = (rows: string) => `
  insert into ${t}.compat_domain_mailboxes as m (workspace_id, domain, mailboxes)
  select workspace_id, domain, sum(delta)::int from (${rows}) d
  group by workspace_id, domain
  having sum(delta) <> 0
  order by workspace_id, domain
  on conflict (workspace_id, domain) do update set mailboxes = m.mailboxes + excluded.mailboxes;`;
  const live = (table: string, sign: string) =>
    `select workspace_id, split_part(email, '@', 2) as domain, ${sign}1 as delta from ${table} where deleted_at is null`;
  const fn = (name: string, body: string, what: string) => `
create or replace function ${t}.${name}() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$
begin${body}
  return null;
end;
$fn$;
comment on function ${t}.${name}() is ${marker(what)};`;
  return `
${fn('compat_mailboxes_added', fold(live('new_rows', '')), 'counts inserted sender_emails in compat_domain_mailboxes')}
${fn(
  'compat_mailboxes_changed',
  fold(`${live('new_rows', '')} union all ${live('old_rows', '-')}`),
  'moves updated sender_emails between compat_domain_mailboxes counts',
)}
${fn('compat_mailboxes_removed', fold(live('old_rows', '-')), 'uncounts deleted sender_emails in compat_domain_mailboxes')}
${fn('compat_mailboxes_cleared', `\n  delete from ${t}.compat_domain_mailboxes;`, 'empties compat_domain_mailboxes when sender_emails is truncated')}

create trigger sender_sync_compat_mailboxes_insert after insert on ${a}.sender_emails
  referencing new table as new_rows for each statement execute function ${t}.compat_mailboxes_added();
create trigger sender_sync_compat_mailboxes_update after update on ${a}.sender_emails
  referencing old table as old_rows new table as new_rows for each statement execute function ${t}.compat_mailboxes_changed();
create trigger sender_sync_compat_mailboxes_delete after delete on ${a}.sender_emails
  referencing old table as old_rows for each statement execute function ${t}.compat_mailboxes_removed();
create trigger sender_sync_compat_mailboxes_truncate after truncate on ${a}.sender_emails
  for each statement execute function ${t}.compat_mailboxes_cleared();

-- The triggers hold sender_emails locked against writers until this transaction commits: the count is exact.
delete from ${t}.compat_domain_mailboxes;
insert into ${t}.compat_domain_mailboxes (workspace_id, domain, mailboxes)
select workspace_id, split_part(email, '@', 2), count(*)::int
from ${a}.sender_emails where deleted_at is null
group by 1, 2;
`;
}

/**
 * sync_progress follows the job rows: a row when a job starts, workspaces_completed,
 * total_accounts and current_workspace (the last to end, as the replaced system showed it)
 * as its workspaces end (one single-row update per workspace that ends, or per insert
 * statement of rows born ended, i.e. deferred), and the end (completed, or failed with the job's error) when the job leaves `running`,
 * however it leaves it: Finalize job, mark-failed, or a later run failing a stale job.
 * The job's `partial` is `completed` here: the replaced table knows no other end.
 */
export function progressDdl({ target, app }: CompatSchemas): string {
  const t = ident(target);
  const a = ident(app);
  // A progress bar never stops a run: a failure here (the table dropped by hand, a lock
  // timeout) is a warning in the server's log, and the job's own statement goes on.
  const fn = (name: string, body: string, what: string) => `
create or replace function ${t}.${name}() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$
begin
${body}
  return null;
exception when others then
  raise warning 'sender-sync compat: sync_progress not updated (%): %', tg_name, sqlerrm;
  return null;
end;
$fn$;
comment on function ${t}.${name}() is ${marker(what)};`;
  return `
${fn(
  'compat_progress_job_started',
  `  insert into ${t}.sync_progress (job_id, job_name, total_workspaces, status, started_at)
  values (new.id, new.job_name, new.total_workspaces,
    case when new.status = 'running' then 'running' when new.status = 'failed' then 'failed' else 'completed' end,
    new.started_at)
  on conflict (job_id) do nothing;`,
  'creates the sync_progress row of a new job',
)}
${fn(
  'compat_progress_job_changed',
  `  update ${t}.sync_progress p set
    status = case when new.status = 'running' then 'running' when new.status = 'failed' then 'failed' else 'completed' end,
    total_workspaces = new.total_workspaces,
    workspaces_completed = case when new.status = 'running' then p.workspaces_completed else (
      select count(*)::int from ${a}.polling_job_workspaces w where w.job_id = new.id and w.status not in ('pending', 'running')) end,
    total_accounts = case when new.status = 'running' then p.total_accounts else new.total_accounts_synced end,
    current_workspace = case when new.status = 'running' then p.current_workspace end,
    error_message = new.error_message,
    completed_at = new.completed_at,
    updated_at = now()
  where p.job_id = new.id;`,
  'ends (or corrects) the sync_progress row of a job',
)}
${fn(
  'compat_progress_workspaces_added',
  `  update ${t}.sync_progress p set workspaces_completed = p.workspaces_completed + d.ended, updated_at = now()
  from (
    select job_id, count(*)::int as ended from new_rows where status not in ('pending', 'running') group by job_id
  ) d
  where p.job_id = d.job_id and p.status = 'running';`,
  'counts workspaces a job records as already ended (deferred)',
)}
${fn(
  'compat_progress_workspace_changed',
  `  update ${t}.sync_progress p set
    workspaces_completed = p.workspaces_completed
      + case when new.status in ('pending', 'running') then 0 else 1 end
      - case when old.status in ('pending', 'running') then 0 else 1 end,
    total_accounts = p.total_accounts
      + case when new.status = 'synced' then new.accounts_synced else 0 end
      - case when old.status = 'synced' then old.accounts_synced else 0 end,
    current_workspace = new.workspace_name,
    updated_at = now()
  where p.job_id = new.job_id and p.status = 'running';`,
  "moves a job's sync_progress row as one of its workspaces starts or ends",
)}

-- A job already running when compat is installed gets its row now, counted as it stands.
insert into ${t}.sync_progress (job_id, job_name, total_workspaces, workspaces_completed, total_accounts, status, started_at)
select j.id, j.job_name, j.total_workspaces,
  (select count(*)::int from ${a}.polling_job_workspaces w where w.job_id = j.id and w.status not in ('pending', 'running')),
  (select coalesce(sum(w.accounts_synced), 0)::int from ${a}.polling_job_workspaces w where w.job_id = j.id and w.status = 'synced'),
  'running', j.started_at
from ${a}.polling_job_status j where j.status = 'running'
on conflict (job_id) do nothing;

create trigger sender_sync_compat_progress_insert after insert on ${a}.polling_job_status
  for each row execute function ${t}.compat_progress_job_started();
create trigger sender_sync_compat_progress_update after update on ${a}.polling_job_status
  for each row when (old.status is distinct from new.status)
  execute function ${t}.compat_progress_job_changed();
create trigger sender_sync_compat_progress_insert after insert on ${a}.polling_job_workspaces
  referencing new table as new_rows for each statement execute function ${t}.compat_progress_workspaces_added();
-- Only when a workspace ends (or, redriven, starts again): one single-row update per workspace.
create trigger sender_sync_compat_progress_update after update on ${a}.polling_job_workspaces
  for each row when ((old.status in ('pending', 'running')) is distinct from (new.status in ('pending', 'running')))
  execute function ${t}.compat_progress_workspace_changed();
`;
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
