import type { TaskName } from '../lambdas/tasks';

/*
 * The states' names, apart from the CDK code that builds the definition (definition.ts):
 * the local runner needs them without loading the CDK.
 */

/** State names, as an operator reads them in the console graph. */
export const STATE = {
  readInput: 'Read input',
  startJob: 'Start job',
  alreadyRunning: 'Already running',
  lockHeld: 'Another run holds the lock?',
  syncEachWorkspace: 'Sync each workspace',
  syncWorkspace: 'Sync workspace',
  morePages: 'More pages?',
  workspaceSynced: 'Workspace synced',
  recordWorkspaceFailure: 'Record workspace failure',
  finalizeJob: 'Finalize job',
  runResult: 'Did the run fail?',
  runFailed: 'Run failed',
  jobAlreadyEnded: 'Job already ended',
  done: 'Done',
  noJobYet: 'No job started',
  notConfigured: 'Not configured',
  recordRunFailure: 'Record run failure',
  runBroke: 'Run stopped by an error',
} as const;

/** Which function each Task state invokes: the local runner maps its handlers by this. */
export const TASK_OF_STATE: Readonly<Record<string, TaskName>> = {
  [STATE.startJob]: 'startJob',
  [STATE.syncWorkspace]: 'syncWorkspace',
  [STATE.recordWorkspaceFailure]: 'markFailed',
  [STATE.finalizeJob]: 'finalizeJob',
  [STATE.recordRunFailure]: 'markFailed',
};
