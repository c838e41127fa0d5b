-- Issue 24: warmup figures as daily snapshots, one row per account and day (UTC), written
-- by the daily warmup pass from GET /api/warmup/sender-emails?start_date=day&end_date=day.
-- A second pass the same day rewrites a row only when a figure changed. No foreign key to
-- sender_emails: a warmup row may arrive for an account the account sync has not seen yet.
create table sender_email_warmup_daily (
  workspace_id integer not null references workspaces (id),
  emailbison_id bigint not null,
  day date not null,
  warmup_score numeric(6, 2),
  warmup_emails_sent integer,
  warmup_replies_received integer,
  warmup_emails_saved_from_spam integer,
  warmup_bounces_received_count integer,
  warmup_bounces_caused_count integer,
  warmup_disabled_for_bouncing_count integer,
  job_id uuid,
  written_at timestamptz not null default now(),
  primary key (workspace_id, emailbison_id, day)
);
create index sender_email_warmup_daily_day_idx on sender_email_warmup_daily (day desc, workspace_id);

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    alter table sender_email_warmup_daily enable row level security;
    create policy service_role_all on sender_email_warmup_daily for all to service_role using (true) with check (true);
  end if;
end;
$$;

-- Which pass a job row records: the hourly account sync, or the daily warmup pass (same state
-- machine, input {"mode": "warmup"}, job name <JOB_NAME>-warmup) and the day it read.
alter table polling_job_status add column run_mode text not null default 'sync' check (run_mode in ('sync', 'warmup'));
alter table polling_job_status add column warmup_day date;
