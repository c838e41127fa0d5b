import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { InvalidInputError } from '../lambdas/errors';
import { awsClientOptions } from '../lambdas/runtime/aws-sdk';
import { writeLocalSecrets } from '../local/secrets-file';

/**
 * Where `workspaces add|import` put API keys: the git-ignored local secrets file, or one
 * field per workspace of a JSON secret in AWS Secrets Manager (the API-keys secret the
 * stack reads). Returns the reference stored in Postgres; the key itself never is.
 */
export type KeyStore = { kind: 'file'; file: string } | { kind: 'aws-sm'; secretArn: string; client?: SecretsManagerClient };

export async function storeApiKeys(store: KeyStore, keys: Record<string, string>): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  if (store.kind === 'file') {
    await writeLocalSecrets(store.file, keys);
    for (const name of Object.keys(keys)) refs[name] = `file:${name}`;
    return refs;
  }
  const client = store.client ?? new SecretsManagerClient(awsClientOptions());
  let current: Record<string, string> = {};
  try {
    const existing = await client.send(new GetSecretValueCommand({ SecretId: store.secretArn }));
    current = existing.SecretString ? JSON.parse(existing.SecretString) : {};
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') {
      throw new InvalidInputError(`Could not read the API-keys secret ${store.secretArn}: ${(error as Error).name}.`, { cause: error });
    }
  }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) {
    throw new InvalidInputError(`The API-keys secret ${store.secretArn} is not a JSON object of workspace name → key.`);
  }
  await client.send(new PutSecretValueCommand({ SecretId: store.secretArn, SecretString: JSON.stringify({ ...current, ...keys }) }));
  for (const name of Object.keys(keys)) refs[name] = `aws-sm:${store.secretArn}#${name}`;
  return refs;
}
