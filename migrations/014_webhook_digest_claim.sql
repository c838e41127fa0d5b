-- Storage-first webhook intake (issue 19): the receiver queues deliveries, an applier
-- applies them and sends each workspace's digest, at most one per workspace per window.
-- No SNS call is made while a transaction or row lock is held: the applier claims a
-- workspace's digest in one statement (claimed_until, claim_id), commits, publishes, then
-- records it or releases the claim. A claim whose holder died expires at claimed_until.
--
-- digest_due_at: when the workspace's pending webhook changes are next to be sent: once no
-- new one came for a short gather (so a burst goes out as one message), at most a few
-- gathers after the first (gather_started_at), and never earlier than the window after the
-- previous message. Null when nothing waits.
alter table webhook_publish_state
  add column digest_due_at timestamptz,
  add column gather_started_at timestamptz,
  add column claimed_until timestamptz,
  add column claim_id uuid;
