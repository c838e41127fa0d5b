import type { Context } from 'aws-lambda';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createSyncWorkspaceTask, type SyncWorkspaceEvent } from './task';

const runtime = createLambdaRuntime();

export const handler = (event: SyncWorkspaceEvent, context?: Context) => invoke(runtime, event, context, createSyncWorkspaceTask);
