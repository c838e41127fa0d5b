import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeError, InvalidInputError } from '../lambdas/errors';
import { awsClientOptions } from '../lambdas/runtime/aws-sdk';
import { awsSecretFieldReference } from '../lambdas/secrets/resolve';
import { writeLocalSecrets } from '../local/secrets-file';

/**
 * Where `workspaces add|import` put API keys: the git-ignored local secrets file, or one
 * field per workspace of a JSON secret in AWS Secrets Manager (the API-keys secret the
 * stack reads). Postgres gets a reference; the key itself never goes there.
 *
 * Registration is all or nothing: callers validate every row first, then
 * `withApiKeysStored` writes the keys once and, if the database step fails, puts the
 * store back as it was (the file byte for byte; the secret as its previous SecretString).
 */
export type KeyStore = { kind: 'file'; file: string } | { kind: 'aws-sm'; secretArn: string; client?: Pick<SecretsManagerClient, 'send'> };

export interface StoredApiKeys {
  /** Workspace name → the reference to store in Postgres. */
  refs: Record<string, string>;
  /** Undoes the write. */
  restore(): Promise<void>;
}

export async function storeApiKeys(store: KeyStore, keys: Record<string, string>): Promise<StoredApiKeys> {
  // No prototype: a workspace may be named __proto__ or constructor, and refs[name] must be its own entry.
  const refs: Record<string, string> = Object.create(null);
  if (store.kind === 'file') {
    const restore = await writeLocalSecrets(store.file, keys);
    for (const name of Object.keys(keys)) refs[name] = `file:${name}`;
    return { refs, restore };
  }
  const client = store.client ?? new SecretsManagerClient(awsClientOptions());
  let previous: string | undefined;
  try {
    const existing = await client.send(new GetSecretValueCommand({ SecretId: store.secretArn }));
    previous = existing.SecretString;
  } catch (error) {
    // A secret created without a value answers ResourceNotFoundException for AWSCURRENT.
    if ((error as Error).name !== 'ResourceNotFoundException') {
      throw new InvalidInputError(`Could not read the API-keys secret ${store.secretArn}: ${(error as Error).name}.`, { cause: error });
    }
  }
  let current: unknown = {};
  if (previous !== undefined && previous.trim() !== '') {
    try {
      current = JSON.parse(previous);
    } catch {
      current = undefined;
    }
  }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) {
    throw new InvalidInputError(`The API-keys secret ${store.secretArn} is not a JSON object of workspace name → key.`);
  }
  try {
    await client.send(new PutSecretValueCommand({ SecretId: store.secretArn, SecretString: JSON.stringify({ ...current, ...keys }) }));
  } catch (error) {
    throw new InvalidInputError(`Could not write the API-keys secret ${store.secretArn}: ${(error as Error).name}.`, { cause: error });
  }
  for (const name of Object.keys(keys)) refs[name] = awsSecretFieldReference(store.secretArn, name);
  return {
    refs,
    restore: async () => {
      // A secret that had no value gets an empty object: it resolves no key, as before.
      await client.send(new PutSecretValueCommand({ SecretId: store.secretArn, SecretString: previous || '{}' }));
    },
  };
}

/**
 * Stores the keys, then runs the database step with their references; if that step
 * fails, the store is put back as it was and the step's error is thrown (saying so when
 * the store could not be put back).
 */
export async function withApiKeysStored<T>(
  store: KeyStore,
  keys: Record<string, string>,
  work: (refs: Record<string, string>) => Promise<T>,
): Promise<T> {
  const stored = await storeApiKeys(store, keys);
  try {
    return await work(stored.refs);
  } catch (error) {
    try {
      await stored.restore();
    } catch (restoreError) {
      throw new InvalidInputError(
        `${describeError(error)}; and the keys written to ${describeStore(store)} could not be taken back (${describeError(restoreError)}): check it.`,
        { cause: error },
      );
    }
    throw error;
  }
}

export function describeStore(store: KeyStore): string {
  return store.kind === 'file' ? 'the local secrets file' : `AWS Secrets Manager (${store.secretArn.split(':').pop()})`;
}
