-- sender_emails_email_idx (lower(email)) was added in 001 for lookups by address that
-- nothing here makes: sync finds rows by (workspace_id, emailbison_id), and the
-- dashboard's queries are not known to search by address. Its random-order inserts
-- cost about a tenth of the write path's time (npm run bench, item 4: upsert / COPY
-- rate for 50,000 new rows 0.48x with it, 0.51-0.57x without). Should the dashboard
-- look accounts up by address, add it back outside a sync, without blocking writes:
--   create index concurrently sender_emails_email_idx on sender_emails (lower(email));
drop index if exists sender_emails_email_idx;
