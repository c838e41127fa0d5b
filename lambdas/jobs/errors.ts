import { SenderSyncError } from '../errors';

export class JobNotFoundError extends SenderSyncError {
  override readonly name = 'JobNotFoundError';
  readonly code = 'SS_JOB_NOT_FOUND';
}
