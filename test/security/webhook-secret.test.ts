import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLocalWebhookSecret, localWebhookSecretFile } from '../../local/webhook-secret';
import { startEmailBisonSim, type EmailBisonSim } from '../../sim/server';
import { cli } from '../helpers/cli';
import { tempDir } from '../helpers/cleanup';
import { createTestDatabase } from '../helpers/database';

/*
 * Issue 19: a workspace named `webhook-token` replaced the webhook token in the local
 * secrets file (keys and the token shared one namespace). The master secret now lives in a
 * file of its own; through the real CLI, registering workspaces under any name (the old
 * field's, the new file's, __proto__ and friends), by `add` and by `import`, leaves it byte
 * for byte as it was, and every workspace's URL with it. On AWS the keys store refuses the
 * webhook secret's ARN.
 */
const db = await createTestDatabase();
const dir = tempDir('ss-webhook-secret-');
const secretsFile = path.join(dir, 'secrets.json');
const secretFile = localWebhookSecretFile(secretsFile);
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
const HOSTILE_NAMES = ['webhook-token', 'webhook-secret', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'secrets.json'];
const key = (label: string) => `KEY-${label.replace(/\W/g, '_')}-${randomBytes(4).toString('hex')}`;
let sim: EmailBisonSim;

const urls = async () => {
  const result = await cli(['webhooks', 'url', '--base', 'https://receiver.example', '--workspaces', 'Anchor', '--json'], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { name: string; url: string }[];
};

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'grid:1:1' });
  // A workspace whose key the simulator knows: its EmailBison workspace is recorded, so it has a URL.
  const anchor = await cli(['workspaces', 'add', 'Anchor', '--base-url', sim.url], env, `${sim.workspaces()[0].apiKey}\n`);
  expect(anchor.code, anchor.stderr).toBe(0);
});

afterAll(async () => {
  await sim?.close();
});

describe('the local webhook secret', () => {
  it('is never made up by `webhooks url` or `register`: only `webhooks serve` creates it', async () => {
    for (const args of [
      ['webhooks', 'url', '--base', 'https://receiver.example'],
      ['webhooks', 'register', '--url', 'https://receiver.example'],
    ]) {
      const result = await cli(args, env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain('No webhook secret');
    }
    expect(() => readFileSync(secretFile)).toThrow();
  });

  it('stays byte for byte, and every URL with it, whatever names workspaces are added and imported under', async () => {
    // A secrets file from before, with the old shared token's field: it is not the secret.
    writeFileSync(secretsFile, JSON.stringify({ 'webhook-token': 'old-shared-token-in-every-url' }));
    const { secret, created } = await ensureLocalWebhookSecret(secretFile);
    expect(created).toBe(true);
    expect(secret).not.toBe('old-shared-token-in-every-url');
    const secretBytes = readFileSync(secretFile);
    const before = await urls();
    expect(before).toEqual([
      { name: 'Anchor', url: expect.stringMatching(/^https:\/\/receiver\.example\/emailbison\/\d+\/\d+\/[\w-]{43}$/) },
    ]);

    const keys = new Map<string, string>();
    for (const name of HOSTILE_NAMES) {
      keys.set(name, key(name));
      // Keys the simulator does not know: 401, the binding is not checked, the row and the key are saved.
      const added = await cli(['workspaces', 'add', name, '--base-url', sim.url], env, `${keys.get(name)}\n`);
      expect(added.code, `${name}: ${added.stderr}`).toBe(0);
    }
    const imported = HOSTILE_NAMES.map((name) => `${name} (imported)`).concat([path.basename(secretFile), 'webhook_secret']);
    const csv = path.join(dir, 'import.csv');
    for (const name of imported) keys.set(name, key(name));
    writeFileSync(csv, ['name,base_url,api_key', ...imported.map((name) => `${name},${sim.url},${keys.get(name)}`)].join('\n'));
    const result = await cli(['workspaces', 'import', csv], env);
    expect(result.code, result.stderr).toBe(0);

    expect(readFileSync(secretFile).equals(secretBytes)).toBe(true);
    expect(await urls()).toEqual(before);
    // Each name's key is where its reference points, the old field's included.
    const stored = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>;
    for (const [name, value] of keys) expect(Object.getOwnPropertyDescriptor(stored, name)?.value, name).toBe(value);
    const refs = await db.sql<{ name: string; api_key_ref: string }[]>`select name, api_key_ref from workspaces where name <> 'Anchor'`;
    expect(refs).toHaveLength(keys.size);
    for (const ref of refs) expect(ref.api_key_ref).toBe(`file:${ref.name}`);
  });

  it('cannot be the secrets file: a secrets file named like it is refused, nothing written', async () => {
    const result = await cli(
      ['workspaces', 'add', 'Clash', '--base-url', sim.url],
      { ...env, SENDER_SYNC_SECRETS_FILE: secretFile },
      `${key('clash')}\n`,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is the local webhook secret');
    expect(readFileSync(secretFile, 'utf8')).toMatch(/^[\w-]{43}\n$/);
  });
});

describe('the webhook secret on AWS', () => {
  it('is refused as the API-keys secret, before any AWS call', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/webhook-secret-AbCdEf';
    for (const given of [arn, 'sender-sync/webhook-secret']) {
      const result = await cli(
        ['workspaces', 'add', 'Zed', '--base-url', sim.url, '--store', 'aws-sm', '--secret-arn', given],
        {
          ...env,
          WEBHOOK_SECRET_ARN: arn,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'x',
          AWS_SECRET_ACCESS_KEY: 'x',
          AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
        },
        `${key('zed')}\n`,
      );
      expect(result.code, given).toBe(1);
      expect(result.stderr).toContain('is the webhook secret (WEBHOOK_SECRET_ARN)');
    }
    expect(await db.sql`select 1 from workspaces where name = 'Zed'`).toHaveLength(0);
  });
});
