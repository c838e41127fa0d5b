import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFile } from 'node:fs/promises';
import { SecretUnavailableError } from '../errors';

/*
 * Where a secret lives is a reference stored with the workspace (never the secret):
 *   aws-sm:<secret arn or name>            the whole SecretString
 *   aws-sm:<secret arn or name>#<field>    one field of a JSON secret (one secret can
 *                                          hold every workspace's key); the field has
 *                                          '%' and '#' percent-escaped, so any name fits
 *   env:<VARIABLE>                         an environment variable (local runs)
 *   file:<field>                           a field of the git-ignored local secrets file
 * Values are cached per secret with a TTL, so warm Lambda invocations do not call
 * Secrets Manager again; a value leaves only through the function that asked for it.
 */
export interface SecretResolverOptions {
  secretsManager?: Pick<SecretsManagerClient, 'send'>;
  env?: Record<string, string | undefined>;
  localSecretsFile?: string;
  ttlSeconds?: number;
  now?: () => number;
}

export interface SecretResolver {
  /** Resolves a reference to its value; `purpose` names what it is for, in errors ("API key of workspace Acme"). */
  resolve(reference: string, purpose: string): Promise<string>;
  /** A JSON secret (e.g. the database credentials) as an object. */
  resolveJson<T>(reference: string, purpose: string): Promise<T>;
  /** Drops the cached value behind a reference (e.g. a password the server just refused): the next resolve reads it afresh. */
  forget(reference: string): void;
  clear(): void;
}

export function createSecretResolver(options: SecretResolverOptions): SecretResolver {
  const ttlMs = (options.ttlSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: string; expiresAt: number }>();

  async function fetchWhole(source: 'aws-sm' | 'file', id: string, purpose: string): Promise<string> {
    const cacheKey = `${source}:${id}`;
    const hit = cache.get(cacheKey);
    if (hit && hit.expiresAt > now()) return hit.value;
    const value = source === 'aws-sm' ? await fromSecretsManager(id, purpose) : await fromLocalFile(purpose);
    cache.set(cacheKey, { value, expiresAt: now() + ttlMs });
    return value;
  }

  async function fromSecretsManager(secretId: string, purpose: string): Promise<string> {
    if (!options.secretsManager)
      throw new SecretUnavailableError(
        `The ${purpose} is in AWS Secrets Manager (${secretId}), but no Secrets Manager client is configured.`,
      );
    try {
      // Loaded on first use: the CLI and local runs resolve file: and env: keys without the SDK.
      const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const response = await options.secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (response.SecretString === undefined) throw new SecretUnavailableError(`Secret ${secretId} (the ${purpose}) has no string value.`);
      return response.SecretString;
    } catch (error) {
      if (error instanceof SecretUnavailableError) throw error;
      const name = error instanceof Error ? error.name : 'Error';
      throw new SecretUnavailableError(`Could not read secret ${secretId} (the ${purpose}): ${name}.`, { cause: error });
    }
  }

  async function fromLocalFile(purpose: string): Promise<string> {
    const file = options.localSecretsFile;
    if (!file)
      throw new SecretUnavailableError(`The ${purpose} is in the local secrets file, but none is configured (SENDER_SYNC_SECRETS_FILE).`);
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new SecretUnavailableError(`Could not read the local secrets file ${file} (for the ${purpose}).`, { cause: error });
    }
  }

  async function resolve(reference: string, purpose: string): Promise<string> {
    const { source, id, field } = parseSecretReference(reference, purpose);
    if (source === 'env') {
      const value = options.env?.[id];
      if (!value) throw new SecretUnavailableError(`The ${purpose} should be in environment variable ${id}, which is not set.`);
      return value;
    }
    const whole = await fetchWhole(source, id, purpose);
    if (field === undefined) return whole.trim();
    const value = fieldOf(whole, field, source === 'file' ? 'the local secrets file' : `secret ${id}`, purpose);
    return value;
  }

  return {
    resolve,
    async resolveJson<T>(reference: string, purpose: string): Promise<T> {
      const text = await resolve(reference, purpose);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new SecretUnavailableError(`The ${purpose} (${reference}) is not valid JSON.`);
      }
    },
    forget(reference: string) {
      const { source, id } = parseSecretReference(reference);
      cache.delete(`${source}:${id}`);
    },
    clear: () => cache.clear(),
  };
}

export function parseSecretReference(
  reference: string,
  purpose = 'secret',
): { source: 'aws-sm' | 'env' | 'file'; id: string; field?: string } {
  const match = /^(aws-sm|env|file):(.+)$/.exec(reference.trim());
  if (!match) {
    throw new SecretUnavailableError(
      `The ${purpose} reference "${reference}" is not one of aws-sm:<secret>[#field], env:<VARIABLE>, file:<field>.`,
    );
  }
  const source = match[1] as 'aws-sm' | 'env' | 'file';
  if (source === 'file') return { source, id: 'local', field: match[2] };
  if (source === 'env') return { source, id: match[2] };
  // A secret's ARN or name has no '#' (Secrets Manager allows /_+=.@- only), so the first
  // '#' ends it and the field may hold any character.
  const hash = match[2].indexOf('#');
  return hash === -1 ? { source, id: match[2] } : { source, id: match[2].slice(0, hash), field: unescapeField(match[2].slice(hash + 1)) };
}

/** `aws-sm:<secret>#<field>` for one field of a JSON secret, whatever the field's characters. */
export function awsSecretFieldReference(secretId: string, field: string): string {
  return `aws-sm:${secretId}#${field.replace(/[%#]/g, (char) => encodeURIComponent(char))}`;
}

/**
 * References written before fields were escaped hold the field as is: one without '%'
 * reads the same either way; one whose '%' does not decode is taken as written.
 */
function unescapeField(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function fieldOf(json: string, field: string, where: string, purpose: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new SecretUnavailableError(`${capitalize(where)} is not a JSON object, so it has no field "${field}" (the ${purpose}).`);
  }
  const value = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string' || value === '') {
    throw new SecretUnavailableError(`${capitalize(where)} has no field "${field}" (the ${purpose}).`);
  }
  return value;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
