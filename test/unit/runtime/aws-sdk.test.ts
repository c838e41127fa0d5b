import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../../lambdas/config/settings';
import { awsClientOptions } from '../../../lambdas/runtime/aws-sdk';
import { createSecretResolver } from '../../../lambdas/secrets/resolve';

/*
 * The SDK clients' bounds, at the HTTP boundary: an endpoint that accepts the connection
 * and never answers (Secrets Manager unreachable behind a half-open route) must fail the
 * call in the request timeout, not hang until the Lambda's.
 */

const sockets = new Set<Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
const listening = new Promise<string>((resolve) =>
  silent.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(silent.address() as { port: number }).port}`)),
);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('AWS SDK client options', () => {
  it('bound connect and request by default', () => {
    const requestTimeout = SETTINGS.awsRequestTimeoutMs.default;
    expect(awsClientOptions()).toEqual({
      requestHandler: {
        connectionTimeout: SETTINGS.awsConnectTimeoutMs.default,
        requestTimeout,
        throwOnRequestTimeout: true,
        socketTimeout: requestTimeout,
      },
    });
  });

  it('make a Secrets Manager call to a silent endpoint fail with a timeout, which the resolver reports without the value', async () => {
    const client = new SecretsManagerClient({
      ...awsClientOptions({ requestTimeoutMs: 300 }),
      endpoint: await listening,
      region: 'eu-west-1',
      credentials,
      maxAttempts: 1,
    });
    const direct = await client.send(new GetSecretValueCommand({ SecretId: 'db' })).catch((error: Error) => error);
    expect((direct as Error).name).toBe('TimeoutError');

    const resolver = createSecretResolver({ secretsManager: client });
    await expect(resolver.resolve('aws-sm:db', 'database credentials')).rejects.toMatchObject({
      name: 'SecretUnavailableError',
      message: 'Could not read secret db (the database credentials): TimeoutError.',
    });
    client.destroy();
  }, 20_000);
});
