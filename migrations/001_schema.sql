-- sender-sync schema: the workspace registry, the sender accounts the dashboard reads,
-- and the job records. Applies on plain Postgres and on Supabase alike.

create extension if not exists pgcrypto;

create or replace function set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- The EmailBison workspaces to sync. api_key_ref says where the key lives
-- (aws-sm:<secret-arn>#<field>, env:<VAR>, file:<field>): never the key itself.
create table workspaces (
  id integer generated always as identity primary key,
  name text not null unique,
  base_url text not null,
  emailbison_workspace_id bigint,
  api_key_ref text not null,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint workspaces_name_not_blank check (btrim(name) <> ''),
  constraint workspaces_base_url_http check (base_url ~* '^https?://')
);
create trigger workspaces_updated_at before update on workspaces
  for each row execute function set_updated_at();

-- The replaced system's job table: same columns, types, defaults, status values and
-- indexes, so the dashboard keeps working; the columns after the first block are new.
create table polling_job_status (
  id uuid primary key default gen_random_uuid(),
  job_name text not null,
  started_at timestamptz not null default now(),
  completed_at timestamptz,
  status text not null default 'running'
    check (status in ('running', 'completed', 'partial', 'failed')),
  total_workspaces integer not null default 0,
  workspaces_processed integer not null default 0,
  workspaces_skipped integer not null default 0,
  total_accounts_synced integer not null default 0,
  duration_ms integer,
  error_message text,
  warnings text[],
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),

  workspaces_failed integer not null default 0,
  total_accounts_removed integer not null default 0,
  execution_arn text unique,
  trigger_source text not null default 'manual'
);
create index polling_job_status_job_name_idx on polling_job_status (job_name);
create index polling_job_status_started_at_idx on polling_job_status (started_at desc);
create index polling_job_status_status_idx on polling_job_status (status);
-- The single-flight lock: the database refuses a second running job of the same name.
create unique index polling_job_status_one_running_idx on polling_job_status (job_name)
  where status = 'running';
create trigger polling_job_status_updated_at before update on polling_job_status
  for each row execute function set_updated_at();

-- One row per (job, workspace): what the sync of that workspace did in that run.
create table polling_job_workspaces (
  job_id uuid not null references polling_job_status (id) on delete cascade,
  workspace_id integer not null references workspaces (id),
  workspace_name text not null,
  status text not null default 'pending'
    check (status in ('pending', 'running', 'synced', 'failed', 'skipped')),
  accounts_synced integer not null default 0,
  accounts_written integer not null default 0,
  accounts_removed integer not null default 0,
  skipped_items integer not null default 0,
  pages integer not null default 0,
  api_requests integer not null default 0,
  retries integer not null default 0,
  rate_limit_wait_ms integer not null default 0,
  invocations integer not null default 0,
  cursor integer,
  last_page integer,
  expected_total integer,
  totals_seen integer[] not null default '{}',
  warnings text[] not null default '{}',
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  duration_ms integer,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (job_id, workspace_id)
);
create index polling_job_workspaces_workspace_idx on polling_job_workspaces (workspace_id, created_at desc);
create trigger polling_job_workspaces_updated_at before update on polling_job_workspaces
  for each row execute function set_updated_at();

-- One row per (workspace, EmailBison sender-email id). The API-owned columns are
-- written by sync; notes and manual_price belong to the dashboard and sync never
-- names them.
create table sender_emails (
  id bigint generated always as identity primary key,
  workspace_id integer not null references workspaces (id),
  emailbison_id bigint not null,
  email text not null,
  name text,
  email_signature text,
  daily_limit integer,
  type text,
  status text,
  tags jsonb not null default '[]',
  emails_sent_count integer,
  total_replied_count integer,
  unique_replied_count integer,
  total_opened_count integer,
  unique_opened_count integer,
  bounced_count integer,
  unsubscribed_count integer,
  interested_leads_count integer,
  total_leads_contacted_count integer,
  warmup_enabled boolean,
  emailbison_created_at timestamptz,
  emailbison_updated_at timestamptz,
  raw jsonb not null,
  notes text,
  manual_price numeric(12, 2),
  first_seen_at timestamptz not null default now(),
  last_synced_at timestamptz not null default now(),
  last_seen_job_id uuid,
  deleted_at timestamptz,
  constraint sender_emails_identity unique (workspace_id, emailbison_id)
);
create index sender_emails_live_idx on sender_emails (workspace_id) where deleted_at is null;
create index sender_emails_email_idx on sender_emails (lower(email));

-- Which accounts a run has seen in each workspace, kept apart from sender_emails so an
-- unchanged account costs no rewrite of its row. Removal reads it only after a
-- complete, consistent fetch. Unlogged: after a crash it is empty, and an empty set
-- fails the consistency check, so the worst case is a skipped removal, never a wrong one.
create unlogged table polling_job_seen_accounts (
  job_id uuid not null,
  workspace_id integer not null,
  emailbison_id bigint not null,
  primary key (job_id, workspace_id, emailbison_id)
);

-- Live accounts with the figures the dashboard derived.
create view live_sender_emails as
select
  se.*,
  w.name as workspace_name,
  round(100.0 * se.unique_replied_count / nullif(se.emails_sent_count, 0), 2) as reply_rate,
  round(100.0 * se.bounced_count / nullif(se.emails_sent_count, 0), 2) as bounce_rate,
  lower(split_part(se.email, '@', 2)) as domain,
  case
    when exists (select 1 from jsonb_array_elements(se.tags) t where t ->> 'name' ilike any (array['%google%', '%gmail%', '%workspace%'])) then 'Google'
    when exists (select 1 from jsonb_array_elements(se.tags) t where t ->> 'name' ilike any (array['%outlook%', '%microsoft%', '%office%', '%365%'])) then 'Outlook'
    else null
  end as email_provider
from sender_emails se
join workspaces w on w.id = se.workspace_id
where se.deleted_at is null;
