-- Issue 22 items 5 and 6. Plain SQL, for Postgres and Supabase alike.

-- Id churn: EmailBison gives an inbox a new sender-email id when it is removed and added
-- again. A new id whose email (case-insensitive) is that of another account of the same
-- workspace, removed or not seen by the walk that found the new one, is recorded as
-- 'readded': old_value the old id, new_value the new id (jsonb numbers), emailbison_id the
-- new id. It takes the place of the 'added' row, and of the old id's 'removed' row when
-- the same walk removes it: one account, not a removal and an unrelated addition.
alter table sender_email_changes drop constraint sender_email_changes_field_check;
alter table sender_email_changes add constraint sender_email_changes_field_check
  check (field in ('status', 'removed', 'daily_limit', 'warmup_enabled', 'tags', 'added', 'readded'));

-- Every workspace synced at any size: a workspace Start job left out of the run because
-- its instance's request cap cannot read every workspace within the schedule's interval
-- (lambdas/jobs/plan-run.ts). It goes first in the next run.
alter table polling_job_workspaces drop constraint polling_job_workspaces_status_check;
alter table polling_job_workspaces add constraint polling_job_workspaces_status_check
  check (status in ('pending', 'running', 'synced', 'failed', 'skipped', 'deferred'));
-- How many of the job's workspaces were deferred; workspaces_skipped counts them too, so
-- processed + failed + skipped is still total_workspaces for the dashboard.
alter table polling_job_status add column workspaces_deferred integer not null default 0;
