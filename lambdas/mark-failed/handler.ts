import type { Context } from 'aws-lambda';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createMarkFailedTask, type MarkFailedEvent } from './task';

const runtime = createLambdaRuntime();

export const handler = (event: MarkFailedEvent, context?: Context) => invoke(runtime, event, context, createMarkFailedTask);
