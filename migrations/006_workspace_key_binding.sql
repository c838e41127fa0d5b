-- The EmailBison workspace each row's api-user key reads, as GET /api/users says
-- (data.workspace.id, .name). workspaces.emailbison_workspace_id (001) holds the id;
-- these record the name it had and when the binding was last checked, so an operator
-- can see a row whose key was bound elsewhere without asking EmailBison again.
-- Only the id and the name are kept: that answer carries other workspace secrets.
alter table workspaces
  add column emailbison_workspace_name text,
  add column binding_checked_at timestamptz;
