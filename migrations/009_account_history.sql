-- Account history (issue 15): what changed, written by the sync in the statement that
-- changed the row, and by the webhook receiver when it applies an event. Plain SQL, for
-- Postgres and Supabase alike.

-- Append-only: one row per field that changed on one account. Values are jsonb:
--   status          old and new status text ("Connected", "Not connected", ...)
--   daily_limit     old and new integer
--   warmup_enabled  old and new boolean
--   tags            old and new array of tag names, sorted
--   added           old null, new the status the account arrived with
--   removed         true when the account was marked removed (old false, new true);
--                   false when a removed account came back (old true, new false)
-- source 'sync' carries the job that observed it; 'webhook' carries the delivery's key
-- (sha256 hex of the body: deliveries carry no event id), unique per account and field, so
-- a replayed delivery inserts nothing.
create table sender_email_changes (
  id bigint generated always as identity primary key,
  workspace_id integer not null references workspaces (id),
  emailbison_id bigint not null,
  email text,
  field text not null
    constraint sender_email_changes_field_check
    check (field in ('status', 'removed', 'daily_limit', 'warmup_enabled', 'tags', 'added')),
  old_value jsonb,
  new_value jsonb,
  observed_at timestamptz not null default now(),
  source text not null
    constraint sender_email_changes_source_check check (source in ('sync', 'webhook')),
  job_id uuid,
  delivery_key text,
  constraint sender_email_changes_origin check (
    (source = 'sync' and job_id is not null and delivery_key is null)
    or (source = 'webhook' and delivery_key is not null)
  )
);
create index sender_email_changes_workspace_idx on sender_email_changes (workspace_id, observed_at desc);
create index sender_email_changes_observed_idx on sender_email_changes (observed_at desc);
create unique index sender_email_changes_delivery_idx on sender_email_changes (delivery_key, workspace_id, emailbison_id, field)
  where source = 'webhook';

-- An account's counters as last seen on each day (UTC), written only when they changed:
-- today's row, and the day the old counters were written, as the base, when it has none
-- (so a new account's first totals are written when they first move, and a first sync
-- writes none). EmailBison's counters are lifetime totals: a day's figure is the
-- difference from the account's previous row (lag() over day). No foreign key: the sync writes a row only with
-- the sender_emails row it comes from, which has one, and a per-row check on every new
-- account cost the write path about a tenth of its time (npm run bench -- --only write).
create table sender_email_daily (
  workspace_id integer not null,
  emailbison_id bigint not null,
  day date not null,
  emails_sent_count integer,
  total_replied_count integer,
  unique_replied_count integer,
  total_opened_count integer,
  unique_opened_count integer,
  bounced_count integer,
  interested_leads_count integer,
  total_leads_contacted_count integer,
  updated_at timestamptz not null default now(),
  primary key (workspace_id, emailbison_id, day)
);

-- When the webhook receiver last applied an event to the row. A sync page fetched before it
-- leaves status, tags and deleted_at alone (and records no change for them): a page read
-- before the event must not undo it. The next sync's pages repair anything else.
alter table sender_emails add column webhook_changed_at timestamptz;

-- The run digest: accounts disconnected, reconnected, added and removed since the previous
-- run, from every change row whatever its source (webhooks included). On
-- polling_job_workspaces accounts_removed (001) already counts what this run's removal
-- pass marked removed; the digest's count is accounts_removed_since_last_run there.
alter table polling_job_workspaces
  add column accounts_disconnected integer not null default 0,
  add column accounts_reconnected integer not null default 0,
  add column accounts_added integer not null default 0,
  add column accounts_removed_since_last_run integer not null default 0;
alter table polling_job_status
  add column accounts_disconnected integer not null default 0,
  add column accounts_reconnected integer not null default 0,
  add column accounts_added integer not null default 0,
  add column accounts_removed integer not null default 0;

-- As 002 does for the other tables: only the service role reaches them on Supabase; on
-- plain Postgres (no such role) this block does nothing.
do $$
declare
  t text;
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    foreach t in array array['sender_email_changes', 'sender_email_daily'] loop
      execute format('alter table %I enable row level security', t);
      execute format('create policy service_role_all on %I for all to service_role using (true) with check (true)', t);
    end loop;
  end if;
end;
$$;

-- The names of an account's tags, sorted: what a 'tags' change records (ids and the
-- default flag are EmailBison's bookkeeping; a reorder is no change).
create or replace function sender_email_tag_names(tags jsonb) returns jsonb
language sql immutable parallel safe as $$
  select coalesce(jsonb_agg(t ->> 'name' order by t ->> 'name'), '[]'::jsonb)
  from jsonb_array_elements(case when jsonb_typeof(tags) = 'array' then tags else '[]'::jsonb end) as t
$$;
