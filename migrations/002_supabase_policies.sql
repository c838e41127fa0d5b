-- Row-level security and the Supabase policies, only where Supabase's roles exist:
-- on plain Postgres this migration does nothing and still applies.
do $$
declare
  t text;
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    foreach t in array array['workspaces', 'sender_emails', 'polling_job_status', 'polling_job_workspaces', 'polling_job_seen_accounts'] loop
      execute format('alter table %I enable row level security', t);
      execute format('create policy service_role_all on %I for all to service_role using (true) with check (true)', t);
    end loop;
  end if;
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'alter table polling_job_status enable row level security';
    execute 'create policy anon_read on polling_job_status for select to anon using (true)';
    execute 'grant select on polling_job_status to anon';
  end if;
end;
$$;
