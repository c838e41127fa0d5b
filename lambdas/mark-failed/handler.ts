import type { Context } from 'aws-lambda';
import { snsPublisher } from '../runtime/changes-topic';
import { createLambdaRuntime, invoke } from '../runtime/production';
import { createMarkFailedTask, type MarkFailedEvent } from './task';

const runtime = createLambdaRuntime(process.env, { changesPublisher: (topicArn) => snsPublisher(topicArn), part: 'mark-failed' });

export const handler = (event: MarkFailedEvent, context?: Context) => invoke(runtime, event, context, createMarkFailedTask);
