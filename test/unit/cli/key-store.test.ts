import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { storeApiKeys, withApiKeysStored } from '../../../cli/key-store';
import { parseSecretReference } from '../../../lambdas/secrets/resolve';
import { tempDir } from '../../helpers/cleanup';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/api-keys-AbCdEf';
const PREVIOUS = JSON.stringify({ Acme: 'key-acme-old', Beta: 'key-beta' });
const sm = mockClient(SecretsManagerClient);
const store = () => ({ kind: 'aws-sm' as const, secretArn: ARN, client: new SecretsManagerClient({}) });
const failingDatabaseStep = async () => {
  throw new Error('the database step failed');
};

beforeEach(() => {
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: PREVIOUS });
  sm.on(PutSecretValueCommand).resolves({});
});

describe('API keys in AWS Secrets Manager', () => {
  it('writes every key in one PutSecretValue, merged, with a reference per name that survives # and %', async () => {
    const { refs } = await storeApiKeys(store(), { Acme: 'key-acme-new', 'Gamma #2 (50%)': 'key-gamma' });
    const puts = sm.commandCalls(PutSecretValueCommand);
    expect(puts).toHaveLength(1);
    expect(JSON.parse(puts[0].args[0].input.SecretString!)).toEqual({
      Acme: 'key-acme-new',
      Beta: 'key-beta',
      'Gamma #2 (50%)': 'key-gamma',
    });
    expect(parseSecretReference(refs['Gamma #2 (50%)'])).toEqual({ source: 'aws-sm', id: ARN, field: 'Gamma #2 (50%)' });
  });

  it('puts the previous SecretString back when the database step fails', async () => {
    await expect(withApiKeysStored(store(), { Acme: 'key-acme-new' }, failingDatabaseStep)).rejects.toThrow('the database step failed');
    const puts = sm.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input.SecretString);
    expect(puts).toHaveLength(2);
    expect(JSON.parse(puts[0]!)).toMatchObject({ Acme: 'key-acme-new' });
    expect(puts[1]).toBe(PREVIOUS);
  });

  it('says so when the secret cannot be put back, without any key', async () => {
    sm.on(PutSecretValueCommand)
      .resolvesOnce({})
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const error = await withApiKeysStored(store(), { Acme: 'key-acme-new' }, failingDatabaseStep).catch((e: Error) => e);
    expect(error.message).toContain('the database step failed');
    expect(error.message).toContain('could not be taken back (AccessDeniedException: denied): check it');
    expect(error.message).not.toContain('key-acme');
  });

  it('touches nothing when the secret is not a JSON object', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: 'not json' });
    await expect(storeApiKeys(store(), { Acme: 'k' })).rejects.toThrow('is not a JSON object of workspace name → key');
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});

describe('API keys in the local secrets file', () => {
  it('puts the file back byte for byte, mode 0600, when the database step fails', async () => {
    const file = path.join(tempDir('ss-keystore-'), 'secrets.json');
    writeFileSync(file, '{"Acme":   "key-acme-old"}', { mode: 0o600 });
    const before = readFileSync(file);
    await expect(withApiKeysStored({ kind: 'file', file }, { Acme: 'key-acme-new' }, failingDatabaseStep)).rejects.toThrow();
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('removes a file it created when the database step fails', async () => {
    const file = path.join(tempDir('ss-keystore-'), 'nested', 'secrets.json');
    await expect(withApiKeysStored({ kind: 'file', file }, { Acme: 'key' }, failingDatabaseStep)).rejects.toThrow();
    expect(existsSync(file)).toBe(false);
  });

  it('merges into the file with mode 0600 and returns file: references', async () => {
    const file = path.join(tempDir('ss-keystore-'), 'secrets.json');
    writeFileSync(file, JSON.stringify({ Beta: 'key-beta' }), { mode: 0o644 });
    const refs = await withApiKeysStored({ kind: 'file', file }, { 'Acme #1': 'key-acme' }, async (r) => r);
    expect(refs).toEqual({ 'Acme #1': 'file:Acme #1' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ Beta: 'key-beta', 'Acme #1': 'key-acme' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
