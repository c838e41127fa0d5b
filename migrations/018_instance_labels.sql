-- Issue 23: the replaced system's registry names EmailBison instances by label
-- ('Maverick', 'Long Run'), not by URL. `workspaces import --from-client-registry
-- --instance 'Label=https://…'` records the label here; the dashboard's bison_instance
-- column is it in lower case without spaces ('maverick', 'longrun'). Null for a workspace
-- registered by URL. Workspace ids and account ids may be equal across instances: the
-- identity stays (workspace row, EmailBison id), and a workspace row is one instance's.
alter table workspaces
  add column instance_label text
    constraint workspaces_instance_label_not_blank check (instance_label is null or btrim(instance_label) <> '');
