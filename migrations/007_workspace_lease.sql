-- The lease of a workspace's sync within a job. Step Functions does not stop a Lambda in
-- flight when its execution ends or its Task times out, and a Lambda invoke that fails at
-- the API can leave the first invocation running while the retry starts: two invocations
-- of one workspace could write it at once. Each invocation takes the lease when it begins
-- (waiting while another live lease holds it) and every write transaction checks it, with
-- the job's status. A row lock, not an advisory lock: a session-level advisory lock does
-- not survive a transaction pooler (Supabase on 6543, PgBouncer).
-- lease_expires_at is when the holder is certainly gone (its Lambda's own timeout).
alter table polling_job_workspaces
  add column lease_id uuid,
  add column lease_expires_at timestamptz;
