-- Both pagination modes of EmailBison (DESIGN.md, "What changed by late 2026"): page
-- numbers with a total, or opaque cursors without one. Plain SQL, for Postgres and Supabase.

-- The mode that last worked for the workspace's instance: null (not yet known), page or
-- cursor. With EMAILBISON_PAGINATION=auto a run starts in it, so a workspace that met the
-- page cap or a cursor answer starts its next run in cursor mode.
alter table workspaces
  add column pagination_mode text
    constraint workspaces_pagination_mode_check check (pagination_mode in ('page', 'cursor'));

-- Where a walk stands, to resume it: `cursor` keeps the next page in page mode; in cursor
-- mode `cursor_token` keeps EmailBison's next_cursor (null with walk_mode 'cursor': the
-- top). Tokens are EmailBison's own (base64 of an id), bounded, and never a secret.
-- walk_pages / walk_items: pages and items (valid or not) the current walk has read, so a
-- walk that saw an id twice is known (items > distinct accounts seen).
-- walk_mixed: the walk restarted in another mode after reading pages: it removes nothing.
alter table polling_job_workspaces
  add column walk_mode text
    constraint polling_job_workspaces_walk_mode_check check (walk_mode in ('page', 'cursor')),
  add column cursor_token text
    constraint polling_job_workspaces_cursor_token_length check (octet_length(cursor_token) <= 1024),
  add column walk_pages integer not null default 0,
  add column walk_items integer not null default 0,
  add column walk_mixed boolean not null default false;

-- Removal without a total (a cursor-only instance): the first complete walk that misses a
-- live account marks it; a sighting clears the mark (the upsert rewrites a marked row);
-- the next complete walk that misses it again marks it removed.
alter table sender_emails
  add column missed_since_job_id uuid,
  add column first_missed_at timestamptz;
