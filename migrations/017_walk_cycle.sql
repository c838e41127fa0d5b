-- Where a cursor walk's cycle detection stands (lambdas/sync/walk-guard.ts): Brent's
-- algorithm keeps one cursor and two counters, saved with every checkpoint so a cursor
-- cycle longer than one invocation's pages is caught across resumes. Null: a fresh walk,
-- or a walk saved before this column.
alter table polling_job_workspaces
  add column walk_cycle jsonb;
