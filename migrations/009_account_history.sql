-- PLACEHOLDER in wt-webhooks: the contract of the `history` helper's 009, copied so this
-- branch's tests run before the merge. The lead keeps history's version of this file.
create table sender_email_changes (
  id bigint generated always as identity primary key,
  workspace_id integer not null references workspaces (id),
  emailbison_id bigint not null,
  email text,
  field text not null check (field in ('status', 'removed', 'daily_limit', 'warmup_enabled', 'tags', 'added')),
  old_value jsonb,
  new_value jsonb,
  observed_at timestamptz not null default now(),
  source text not null check (source in ('sync', 'webhook')),
  job_id uuid,
  delivery_key text
);
create unique index sender_email_changes_delivery_idx
  on sender_email_changes (delivery_key, workspace_id, emailbison_id, field) where source = 'webhook';

alter table sender_emails add column webhook_changed_at timestamptz;
