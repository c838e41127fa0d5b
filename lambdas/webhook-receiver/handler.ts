import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../config/load-config';
import { SERVICE_NAME } from '../config/settings';
import { ConfigError, IntakeUnavailableError } from '../errors';
import { awsClientOptions } from '../runtime/aws-sdk';
import type { TaskLog } from '../runtime/deps';
import { createSecretResolver } from '../secrets/resolve';
import type { IntakeQueue } from '../webhooks/intake';
import { sqsIntakeQueue } from '../webhooks/sqs-intake';
import { createWebhookReceiver } from './receive';

/*
 * The receiver behind the Function URL: the URL's event in, receive.ts's answer out. Not a
 * state machine task. It reads the webhook master secret (its own secret, never the API
 * keys') and sends to the intake queue; it has no database secret and opens no database
 * connection, so a burst of deliveries scales out receivers without costing Postgres anything.
 */
const config = loadConfig(process.env);
const logger = new Logger({ serviceName: SERVICE_NAME, logLevel: config.logLevel });
const webhookSecretArn = config.webhookSecretArn;
const secrets = createSecretResolver({
  secretsManager: new SecretsManagerClient(awsClientOptions()),
  ttlSeconds: config.secretsCacheTtlSeconds,
});
const queue: IntakeQueue = config.webhookQueueUrl
  ? sqsIntakeQueue(new SQSClient(awsClientOptions()), config.webhookQueueUrl)
  : {
      send: async () => {
        throw new IntakeUnavailableError('WEBHOOK_QUEUE_URL is not set.', { retryAfterSeconds: 60 });
      },
    };
const log: TaskLog = {
  info: (message, fields) => logger.info(message, fields ?? {}),
  warn: (message, fields) => logger.warn(message, fields ?? {}),
  error: (message, fields) => logger.error(message, fields ?? {}),
  setContext: () => {},
};

const receive = createWebhookReceiver({
  webhookSecret: async () => {
    if (!webhookSecretArn) throw new ConfigError('WEBHOOK_SECRET_ARN is not set.');
    return secrets.resolve(`aws-sm:${webhookSecretArn}`, 'webhook secret');
  },
  queue,
  log,
});

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const answer = await receive({ method: event.requestContext.http.method, path: event.rawPath, headers: event.headers, body });
  return { statusCode: answer.status, headers: answer.headers, body: answer.body };
};
