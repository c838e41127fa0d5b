-- The local run's lock (`npm start`, `sender-sync run`): one row per job name, taken and
-- released in transactions, kept alive by a heartbeat while the run lives. It replaces a
-- session advisory lock, which does not survive a transaction pooler (Supabase on 6543,
-- PgBouncer): the unlock ran on another server connection than the lock, so the lock
-- stayed held. A row whose heartbeat is older than about a minute, or whose process is
-- gone (same host), is a dead run's: the next run marks that run's job failed and takes
-- the row over (local/run-lock.ts).
create table local_run_lease (
  job_name text primary key,
  holder uuid not null,
  -- Who holds it, to check on this machine whether it still lives, and to say so.
  holder_host text not null,
  holder_boot_id text,
  holder_pid integer not null,
  holder_started text,
  -- The execution the run starts: its job row is the one to fail when the run dies.
  execution_arn text not null,
  taken_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);

-- As 002 does for the other tables: only the service role reaches it on Supabase, and
-- on plain Postgres (no such role) this block does nothing.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    alter table local_run_lease enable row level security;
    create policy service_role_all on local_run_lease for all to service_role using (true) with check (true);
  end if;
end;
$$;
