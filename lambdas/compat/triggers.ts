import { type CompatSchemas, ident, marker } from './definitions';

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
