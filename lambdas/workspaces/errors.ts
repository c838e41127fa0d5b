import { SenderSyncError } from '../errors';

export class WorkspaceNotFoundError extends SenderSyncError {
  override readonly name = 'WorkspaceNotFoundError';
  readonly code = 'SS_WORKSPACE_NOT_FOUND';
}
