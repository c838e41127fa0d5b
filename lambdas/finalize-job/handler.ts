import type { Context } from 'aws-lambda';
import { snsPublisher } from '../runtime/changes-topic';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createFinalizeJobTask, type FinalizeJobEvent } from './task';

const runtime = createLambdaRuntime(process.env, { changesPublisher: (topicArn) => snsPublisher(topicArn), part: 'finalize-job' });

export const handler = (event: FinalizeJobEvent, context?: Context) => invoke(runtime, event, context, createFinalizeJobTask);
