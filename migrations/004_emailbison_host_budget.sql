-- One row per EmailBison instance (the base URL's host): the request budget that every
-- sync of that instance shares, wherever it runs. On AWS the Map's workspaces run in
-- separate Lambdas, so the budget cannot live in any one process; Postgres is already
-- shared by all of them. See lambdas/emailbison/host-budget.ts for the statements.
--
-- tokens / refilled_at: a token bucket refilled lazily at the caller's rate; a request
--   takes one token in a single UPDATE.
-- paused_until / pause_reason: a 429's Retry-After (or a spent rate-limit window)
--   pauses every sync of the host until then.
-- consecutive_failures / breaker_open_until: connection failures (refused, timed out)
--   with no success in between; past a threshold the breaker opens and every sync of
--   the host fails fast as unreachable until then.
-- '-infinity' means "never": comparisons with it need no null checks.
create table emailbison_host_budget (
  host text primary key,
  tokens double precision not null,
  refilled_at timestamptz not null default clock_timestamp(),
  paused_until timestamptz not null default '-infinity',
  pause_reason text,
  consecutive_failures integer not null default 0,
  breaker_open_until timestamptz not null default '-infinity',
  updated_at timestamptz not null default now(),
  constraint emailbison_host_budget_host_not_blank check (btrim(host) <> ''),
  constraint emailbison_host_budget_failures_not_negative check (consecutive_failures >= 0)
);

-- As 002 does for the other tables: only the service role reaches it on Supabase, and
-- on plain Postgres (no such role) this block does nothing.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    alter table emailbison_host_budget enable row level security;
    create policy service_role_all on emailbison_host_budget for all to service_role using (true) with check (true);
  end if;
end;
$$;
