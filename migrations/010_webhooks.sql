-- Webhook disconnections and removals are published to the ChangesTopic at most once per
-- workspace per window (5 minutes): an instance-wide outage sends hundreds of deliveries
-- in a minute and must page once. The items themselves are the change rows (009, source
-- 'webhook'); this row only says how far they were published and when, so nothing is
-- stored twice and a pending item survives a cold start. A delivery that finds a due
-- workspace publishes what is pending; Finalize job's digest names the rest and advances
-- the pointer (lambdas/webhooks/publish.ts).
create table webhook_publish_state (
  workspace_id integer primary key references workspaces (id),
  published_through_id bigint not null default 0,
  last_published_at timestamptz,
  updated_at timestamptz not null default now()
);
create trigger webhook_publish_state_updated_at before update on webhook_publish_state
  for each row execute function set_updated_at();

-- What is pending per workspace: the webhook change rows after the pointer.
create index sender_email_changes_webhook_idx on sender_email_changes (workspace_id, id) where source = 'webhook';
