/** A workspace as a job knows it: its registry id and name (never its key). */
export interface WorkspaceRef {
  id: number;
  name: string;
}

/** A workspace as the state machine names it: by id; the name once Sync workspace has read it. */
export interface WorkspaceIdRef {
  id: number;
  name?: string;
}

/** A workspace a job is about to sync, with the accounts its last successful sync found (null: never synced). */
export interface PlannedWorkspace extends WorkspaceRef {
  lastAccountsSynced: number | null;
}
