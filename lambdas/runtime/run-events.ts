import type { WalkCursor } from '../emailbison/page-request';
import type { JobRecord } from '../jobs/read-job';
import type { PlannedWorkspace, WorkspaceIdRef, WorkspaceRef } from '../workspaces/ref';

/*
 * What happens during a run, as typed events the tasks emit through TaskDeps.onEvent.
 * A progress display follows these, never the wording of a log line. The Lambdas set
 * no listener: there the events cost nothing and the logs and metrics tell the story.
 */
export type RunEvent =
  /**
   * Start job took the lock; `workspaces` are the ones this run syncs, largest first, each with the
   * accounts its last successful sync found (what a progress bar expects; null when never synced).
   */
  | { type: 'job-started'; jobId: string; workspaces: PlannedWorkspace[] }
  /** Start job found another run holding the lock: this run does nothing. */
  | { type: 'already-running'; runningJobId: string; runningForSeconds: number }
  /** A Sync workspace invocation began; `cursor` is where it was asked to continue from. */
  | { type: 'workspace-syncing'; jobId: string; workspace: WorkspaceRef; cursor: WalkCursor | null }
  /** A page was read; `accountsRead` counts this invocation's accounts so far. */
  | { type: 'page-synced'; jobId: string; workspace: WorkspaceRef; page: number; lastPage: number; accountsRead: number }
  /** The invocation reached its time budget; the state machine calls it again from `cursor`. */
  | { type: 'workspace-paused'; jobId: string; workspace: WorkspaceRef; cursor: WalkCursor | null; accountsSynced: number }
  /** Another invocation holds the workspace's lease (a retry started while the first still runs): this one waits. */
  | { type: 'workspace-waiting'; jobId: string; workspace: WorkspaceRef; leaseMsLeft: number }
  /** The job had already ended (a redriven execution, an orphan invocation): the task wrote nothing. */
  | { type: 'job-already-ended'; jobId: string; status: string }
  /** Every page of the workspace is synced. */
  | { type: 'workspace-synced'; jobId: string; workspace: WorkspaceRef; accountsSynced: number }
  /** An invocation threw; the state machine may retry it. */
  | { type: 'workspace-attempt-failed'; jobId: string; workspace: WorkspaceIdRef; error: { name: string; message: string } }
  /** The workspace gave up after its retries and is recorded as failed; the others go on. */
  | { type: 'workspace-failed'; jobId: string; workspace: WorkspaceIdRef; error: string }
  /** Finalize job wrote the job's result. */
  | { type: 'job-finished'; job: JobRecord }
  /** The run itself broke (or ended from outside); `jobId` when a job was found to mark failed. */
  | { type: 'run-failed'; jobId?: string; reason: string };

export type RunEventType = RunEvent['type'];
