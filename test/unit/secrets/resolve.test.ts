import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/cleanup';
import { awsSecretFieldReference, createSecretResolver, parseSecretReference } from '../../../lambdas/secrets/resolve';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/api-keys-AbCdEf';

describe('secret references', () => {
  it('parses aws-sm with and without a field, env and file', () => {
    expect(parseSecretReference(`aws-sm:${ARN}#Acme Outbound`)).toEqual({ source: 'aws-sm', id: ARN, field: 'Acme Outbound' });
    expect(parseSecretReference('aws-sm:plain-secret')).toEqual({ source: 'aws-sm', id: 'plain-secret' });
    expect(parseSecretReference('env:ACME_KEY')).toEqual({ source: 'env', id: 'ACME_KEY' });
    expect(parseSecretReference('file:Acme')).toEqual({ source: 'file', id: 'local', field: 'Acme' });
  });

  it('escapes % and # in a field, so any workspace name survives the round trip', () => {
    for (const name of ['Acme #1', '#', '100% Growth', 'a%23b', 'Rocket 🚀 #2 50%', '##%%', 'São Paulo']) {
      const reference = awsSecretFieldReference(ARN, name);
      expect(reference.startsWith(`aws-sm:${ARN}#`)).toBe(true);
      expect(parseSecretReference(reference)).toEqual({ source: 'aws-sm', id: ARN, field: name });
    }
    expect(awsSecretFieldReference(ARN, 'Acme #1')).toBe(`aws-sm:${ARN}#Acme %231`);
    // Names without % or # are written as before: old references read the same.
    expect(awsSecretFieldReference(ARN, 'Acme Outbound')).toBe(`aws-sm:${ARN}#Acme Outbound`);
  });

  it('keeps unescaped references written before escaping resolving', () => {
    // Split on the first '#', so an old reference to a name with '#' now reads the whole name.
    expect(parseSecretReference(`aws-sm:${ARN}#Acme #1`)).toEqual({ source: 'aws-sm', id: ARN, field: 'Acme #1' });
    // A '%' that does not decode is taken as written.
    expect(parseSecretReference(`aws-sm:${ARN}#100% Growth`)).toEqual({ source: 'aws-sm', id: ARN, field: '100% Growth' });
    expect(parseSecretReference('file:Acme #1')).toEqual({ source: 'file', id: 'local', field: 'Acme #1' });
  });

  it('refuses a reference of no known kind, naming what it is for', () => {
    expect(() => parseSecretReference('sk_live_123', 'API key of workspace "Acme"')).toThrow(/API key of workspace "Acme" reference/);
  });
});

describe('resolving from AWS Secrets Manager', () => {
  it('reads one field per workspace from a JSON secret, and caches it until the TTL', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: JSON.stringify({ Acme: 'key-acme', Beta: 'key-beta' }) });
    let clock = 0;
    const resolver = createSecretResolver({ secretsManager: new SecretsManagerClient({}), ttlSeconds: 60, now: () => clock });
    expect(await resolver.resolve(`aws-sm:${ARN}#Acme`, 'API key of workspace "Acme"')).toBe('key-acme');
    expect(await resolver.resolve(`aws-sm:${ARN}#Beta`, 'API key of workspace "Beta"')).toBe('key-beta');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock = 61_000;
    await resolver.resolve(`aws-sm:${ARN}#Acme`, 'API key of workspace "Acme"');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('resolves the key of a workspace whose name has # and %', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: JSON.stringify({ 'Acme #1 (100%)': 'key-hash' }) });
    const resolver = createSecretResolver({ secretsManager: new SecretsManagerClient({}) });
    expect(await resolver.resolve(awsSecretFieldReference(ARN, 'Acme #1 (100%)'), 'API key')).toBe('key-hash');
  });

  it('says which field is missing and never prints the secret', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ Acme: 'sentinel-key-value' }) });
    const resolver = createSecretResolver({ secretsManager: new SecretsManagerClient({}) });
    const error = await resolver.resolve(`aws-sm:${ARN}#Gamma`, 'API key of workspace "Gamma"').catch((e) => e);
    expect(error).toMatchObject({ code: 'SS_SECRET_UNAVAILABLE', message: expect.stringContaining('has no field "Gamma"') });
    expect(error.message).not.toContain('sentinel-key-value');
  });

  it('wraps an AWS error with the secret id and the purpose', async () => {
    const sm = mockClient(SecretsManagerClient);
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    sm.on(GetSecretValueCommand).rejects(denied);
    const resolver = createSecretResolver({ secretsManager: new SecretsManagerClient({}) });
    await expect(resolver.resolveJson(`aws-sm:${ARN}`, 'database credentials')).rejects.toMatchObject({
      name: 'SecretUnavailableError',
      message: `Could not read secret ${ARN} (the database credentials): AccessDeniedException.`,
    });
  });
});

describe('resolving locally', () => {
  it('reads an environment variable and a field of the local secrets file', async () => {
    const dir = tempDir('ss-secrets-');
    const file = path.join(dir, 'secrets.json');
    await writeFile(file, JSON.stringify({ Acme: 'file-key' }));
    const resolver = createSecretResolver({ env: { ACME_KEY: 'env-key' }, localSecretsFile: file });
    expect(await resolver.resolve('env:ACME_KEY', 'API key')).toBe('env-key');
    expect(await resolver.resolve('file:Acme', 'API key')).toBe('file-key');
    await expect(resolver.resolve('env:MISSING', 'API key of workspace "X"')).rejects.toThrow(
      /environment variable MISSING, which is not set/,
    );
  });
});
