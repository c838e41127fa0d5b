import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../config/load-config';
import { awsClientOptions } from '../runtime/aws-sdk';
import { snsPublisher } from '../runtime/changes-topic';
import { createLambdaRuntime } from '../runtime/production';
import type { ChangesPublisher } from '../webhooks/publish';
import { sqsIntakeQueue } from '../webhooks/sqs-intake';
import { createWebhookApplier, type WebhookApplier } from './applier';

/*
 * The applier, fed by the intake queue's event source mapping (ReportBatchItemFailures): a
 * batch in, the ids of what must be delivered again out. One Postgres connection per
 * container (DATABASE_POOL_MAX=1) and at most the mapping's maximum concurrency of
 * containers: the connections are bounded whatever the burst. Postgres unreachable: the
 * invocation fails and the whole batch returns to the queue.
 */
const config = loadConfig(process.env);
// The runtime counts each publish SNS refuses (DigestsNotPublished, and its alarm).
const runtime = createLambdaRuntime(process.env, { part: 'webhook', changesPublisher: (topicArn) => snsPublisher(topicArn) });
const ticks = config.webhookQueueUrl ? sqsIntakeQueue(new SQSClient(awsClientOptions()), config.webhookQueueUrl) : undefined;
let applier: WebhookApplier | undefined;

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  const deps = await runtime.deps(context);
  const sns = deps.changes;
  const publisher: ChangesPublisher | undefined = sns && {
    publish: (message) => sns.publish({ subject: message.subject, message: message.text }),
  };
  applier ??= createWebhookApplier({
    sql: deps.sql,
    log: deps.log,
    publisher,
    timing: { gatherSeconds: config.webhookDigestGatherSeconds },
    scheduleTick: ticks && ((workspaceId, delaySeconds) => ticks.send({ kind: 'tick', workspaceId }, { delaySeconds })),
  });
  const outcome = await applier(event.Records.map((record) => ({ id: record.messageId, body: record.body })));
  return { batchItemFailures: outcome.failed.map((itemIdentifier) => ({ itemIdentifier })) };
};
