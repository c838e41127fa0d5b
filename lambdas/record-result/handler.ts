import type { Context } from 'aws-lambda';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createRecordResultTask, type RecordResultEvent } from './task';

const runtime = createLambdaRuntime();

export const handler = (event: RecordResultEvent, context?: Context) => invoke(runtime, event, context, createRecordResultTask);
