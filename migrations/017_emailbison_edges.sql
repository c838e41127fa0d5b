-- Where a cursor walk's cycle detection stands (lambdas/sync/walk-guard.ts): Brent's
-- algorithm keeps one cursor and two counters, saved with every checkpoint so a cursor
-- cycle longer than one invocation's pages is caught across resumes. Null: a fresh walk,
-- or a walk saved before this column.
alter table polling_job_workspaces
  add column walk_cycle jsonb;

-- When the instance's current rate-limit window opened, as far as sender-sync saw it: the
-- send time (database clock) of the request answered X-RateLimit-Remaining = limit - 1.
-- An answer with Remaining 0 then holds every sync of the host until that window ends
-- (lambdas/emailbison/host-budget.ts, observeRemaining).
alter table emailbison_host_budget
  add column window_opened_at timestamptz;
