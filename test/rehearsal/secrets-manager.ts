import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, readRequestBody } from '../helpers/stand-in-server';

/*
 * A stand-in for AWS Secrets Manager's GetSecretValue, spoken in its JSON protocol
 * (POST / with X-Amz-Target: secretsmanager.GetSecretValue, a JSON body { SecretId }),
 * so the bundles' own SDK client reaches it through the SDK's endpoint override
 * (AWS_ENDPOINT_URL_SECRETS_MANAGER, https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
 * Errors are answered as the service answers them: status 400, a JSON body with __type.
 */

export interface StoredSecret {
  arn: string;
  name: string;
  value: string;
}

export interface SecretsManagerRequest {
  target: string;
  secretId?: string;
  /** The SigV4 credential scope the SDK signed with (access key id/date/region/service/aws4_request), no signature. */
  credential?: string;
}

export interface SecretsManagerStandIn {
  url: string;
  requests: SecretsManagerRequest[];
  close(): Promise<void>;
}

export async function startSecretsManager(secrets: StoredSecret[]): Promise<SecretsManagerStandIn> {
  const requests: SecretsManagerRequest[] = [];
  const find = (secretId: string) => secrets.find((secret) => secret.arn === secretId || secret.name === secretId);

  const server = createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const credential = /Credential=([^,\s]+)/.exec(String(req.headers.authorization ?? ''))?.[1];
    let body: { SecretId?: unknown };
    try {
      body = JSON.parse((await readRequestBody(req)) || '{}');
    } catch {
      return answerError(res, 'SerializationException', 'The request body is not JSON.');
    }
    const secretId = typeof body.SecretId === 'string' ? body.SecretId : undefined;
    requests.push({ target, secretId, credential });
    if (req.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
      return answerError(
        res,
        'UnknownOperationException',
        `The stand-in answers only GetSecretValue (got ${req.method} ${target || 'no X-Amz-Target'}).`,
      );
    }
    if (!credential) return answerError(res, 'MissingAuthenticationTokenException', 'The request is not signed.');
    const secret = secretId ? find(secretId) : undefined;
    if (!secret) return answerError(res, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    answer(res, 200, {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.value,
      VersionId: '00000000-0000-4000-8000-000000000001',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1_767_225_600,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => closeServer(server),
  };
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() });
  res.end(JSON.stringify(body));
}

function answerError(res: ServerResponse, type: string, message: string): void {
  res.setHeader('x-amzn-errortype', type);
  answer(res, 400, { __type: type, message });
}
