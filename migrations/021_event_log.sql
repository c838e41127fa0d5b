-- Issue 24 (item 3): missed events recovered from EmailBison's event log
-- (GET /api/events?pagination_type=cursor&start_date&end_date, about 10 days kept).
-- Each account sync reads the workspace's log since the last event it read and applies the
-- account events no row records yet, with the event's own time and source 'events'.

-- A third source of change rows. event_uuid is the log item's uuid (its id is kept in the
-- position below); unique per account and field, so an event read twice inserts nothing.
alter table sender_email_changes drop constraint sender_email_changes_source_check;
alter table sender_email_changes
  add constraint sender_email_changes_source_check check (source in ('sync', 'webhook', 'events'));
alter table sender_email_changes add column event_uuid text;
alter table sender_email_changes drop constraint sender_email_changes_origin;
alter table sender_email_changes add constraint sender_email_changes_origin check (
  (source = 'sync' and job_id is not null and delivery_key is null and event_uuid is null)
  or (source = 'webhook' and delivery_key is not null and event_uuid is null)
  or (source = 'events' and event_uuid is not null and delivery_key is null)
);
-- When the row was written. A recovered event is observed at its own (past) time, which can
-- fall before the previous run's end: the run digest windows events rows by recorded_at too,
-- so a change recovered late is in the digest of the run that recovered it, not in none.
-- Null for rows written before this migration (no rewrite of the history table).
alter table sender_email_changes add column recorded_at timestamptz;
alter table sender_email_changes alter column recorded_at set default now();
create index sender_email_changes_events_recorded_idx on sender_email_changes (workspace_id, recorded_at)
  where source = 'events';
create unique index sender_email_changes_event_idx on sender_email_changes (event_uuid, workspace_id, emailbison_id, field)
  where source = 'events';

-- How far each workspace's log was read: the greatest event id applied and its time. The
-- next read starts on that event's day (the log's dates are whole days) and skips ids at or
-- below it.
create table workspace_event_log_positions (
  workspace_id integer primary key references workspaces (id),
  last_event_id bigint not null,
  last_event_at timestamptz not null,
  updated_at timestamptz not null default now()
);
create trigger workspace_event_log_positions_updated_at before update on workspace_event_log_positions
  for each row execute function set_updated_at();

-- Instances found without the log (HTTP 404), per run: the first workspace of a run to find it
-- says so once, and the run's other workspaces on that instance skip the request.
create table emailbison_event_log_missing (
  host text primary key,
  job_id uuid not null,
  found_at timestamptz not null default now()
);

do $$
declare
  t text;
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    foreach t in array array['workspace_event_log_positions', 'emailbison_event_log_missing'] loop
      execute format('alter table %I enable row level security', t);
      execute format('create policy service_role_all on %I for all to service_role using (true) with check (true)', t);
    end loop;
  end if;
end;
$$;
