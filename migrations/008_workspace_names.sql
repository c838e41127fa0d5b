-- Workspace names are unique regardless of case: " big binyon " must not register a
-- second workspace beside "Big Binyon" (the CLI trims names; this index refuses the
-- case). The registry's upsert names this index as its conflict target.
-- Rows that already collide stop the migration with their names, rather than an
-- anonymous unique-violation: rename or deactivate-and-rename one of each pair first.
do $$
declare
  collisions text;
begin
  select string_agg(names, '; ') into collisions
  from (
    select string_agg(format('%L', name), ' and ' order by name) as names
    from workspaces
    group by lower(name)
    having count(*) > 1
  ) as pairs;
  if collisions is not null then
    raise exception 'workspace names differ only in case: %; rename one of each before migrating', collisions;
  end if;
end;
$$;

create unique index workspaces_name_lower_idx on workspaces (lower(name));
