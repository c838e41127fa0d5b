import type { Context } from 'aws-lambda';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createFinalizeJobTask, type FinalizeJobEvent } from './task';

const runtime = createLambdaRuntime();

export const handler = (event: FinalizeJobEvent, context?: Context) => invoke(runtime, event, context, createFinalizeJobTask);
