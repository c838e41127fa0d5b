import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { loadConfig } from '../config/load-config';
import { ConfigError } from '../errors';
import { awsClientOptions } from '../runtime/aws-sdk';
import { createLambdaRuntime } from '../runtime/production';
import { createSecretResolver } from '../secrets/resolve';
import type { ChangesPublisher } from '../webhooks/publish';
import { createWebhookReceiver } from './receive';

/*
 * The receiver behind the Function URL: the URL's event in, receive.ts's answer out. Not a
 * state machine task. The webhook master secret (its own secret, never the API keys') is
 * read apart from the database, so a wrong token is answered 404 even while Postgres is
 * down (which answers 503).
 */
const config = loadConfig(process.env);
const runtime = createLambdaRuntime();
const webhookSecretArn = config.webhookSecretArn;
const secrets = createSecretResolver({
  secretsManager: new SecretsManagerClient(awsClientOptions()),
  ttlSeconds: config.secretsCacheTtlSeconds,
});
const sns = config.changesTopicArn ? new SNSClient(awsClientOptions()) : undefined;
const publisher: ChangesPublisher | undefined = sns && {
  async publish(message) {
    await sns.send(new PublishCommand({ TopicArn: config.changesTopicArn, Subject: message.subject, Message: message.text }));
  },
};

let context: Context | undefined;
const receive = createWebhookReceiver({
  webhookSecret: async () => {
    if (!webhookSecretArn) throw new ConfigError('WEBHOOK_SECRET_ARN is not set.');
    return secrets.resolve(`aws-sm:${webhookSecretArn}`, 'webhook secret');
  },
  sql: async () => (await runtime.deps(context)).sql,
  log: {
    info: (message, fields) => runtime.logger.info(message, fields ?? {}),
    warn: (message, fields) => runtime.logger.warn(message, fields ?? {}),
    error: (message, fields) => runtime.logger.error(message, fields ?? {}),
    setContext: () => {},
  },
  publisher,
});

export const handler = async (event: APIGatewayProxyEventV2, lambdaContext?: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  context = lambdaContext;
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const answer = await receive({ method: event.requestContext.http.method, path: event.rawPath, headers: event.headers, body });
  return { statusCode: answer.status, headers: answer.headers, body: answer.body };
};
