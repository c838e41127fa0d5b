import { getHeapStatistics } from 'node:v8';
import type { Context } from 'aws-lambda';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createSyncWorkspaceTask, type SyncWorkspaceEvent } from './task';

const runtime = createLambdaRuntime(process.env, { part: 'sync' });

// Once per cold start: the heap limit V8 got, whichever way the runtime's bootstrap treated
// NODE_OPTIONS' --max-old-space-size (README, "Memory").
runtime.logger.info('heap limit', {
  heapSizeLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
  nodeOptions: process.env.NODE_OPTIONS ?? '',
  memorySizeMb: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || undefined,
});

export const handler = (event: SyncWorkspaceEvent, context?: Context) => invoke(runtime, event, context, createSyncWorkspaceTask);
