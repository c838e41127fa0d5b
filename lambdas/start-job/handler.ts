import type { Context } from 'aws-lambda';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createStartJobTask, type StartJobEvent } from './task';

const runtime = createLambdaRuntime(process.env, { part: 'start-job' });

export const handler = (event: StartJobEvent, context?: Context) => invoke(runtime, event, context, createStartJobTask);
