import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { tempDir } from '../../helpers/cleanup';

const db = await createTestDatabase();
const dir = tempDir('ss-ws-');
const secretsFile = path.join(dir, 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };

describe('sender-sync workspaces', () => {
  it('imports a CSV, keys to the secrets file and never into Postgres', async () => {
    const csv = path.join(dir, 'workspaces.csv');
    writeFileSync(
      csv,
      'name,base_url,api_key\n"Acme, Outbound",https://send.acme.example,key-acme-1234567\nBeta Co,https://send.beta.example/,key-beta-7654321\n',
    );
    const result = await cli(['workspaces', 'import', csv], env);
    expect(result.stdout).toContain('imported 2 workspaces; keys stored in the local secrets file');
    const rows = await db.sql`select name, base_url, api_key_ref from workspaces order by name`;
    expect(rows).toEqual([
      { name: 'Acme, Outbound', base_url: 'https://send.acme.example', api_key_ref: 'file:Acme, Outbound' },
      { name: 'Beta Co', base_url: 'https://send.beta.example', api_key_ref: 'file:Beta Co' },
    ]);
    expect(JSON.parse(readFileSync(secretsFile, 'utf8'))).toMatchObject({
      'Acme, Outbound': 'key-acme-1234567',
      'Beta Co': 'key-beta-7654321',
    });
  });

  it('refuses a file with bad rows, naming each, and imports nothing', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify([
        { name: 'Gamma', base_url: 'ftp://nope', api_key: 'k' },
        { name: '', base_url: 'https://x.example', api_key: '' },
      ]),
    );
    const result = await cli(['workspaces', 'import', bad], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('row 1 ("Gamma"), field base_url: base_url must start with http:// or https://');
    expect(result.stderr).toContain('row 2, field name: no name');
    expect(result.stderr).toContain('row 2, field api_key: no api_key');
    expect(await db.sql`select count(*)::int as n from workspaces where name = 'Gamma'`).toEqual([{ n: 0 }]);
  });

  it('adds one with its key on standard input, lists without keys, and removes it', async () => {
    const added = await cli(['workspaces', 'add', 'Delta Ltd', '--base-url', 'https://send.delta.example'], env, 'key-delta-000111\n');
    expect(added.stdout).toContain('workspace "Delta Ltd" saved');
    const list = await cli(['workspaces', 'list'], env);
    expect(list.stdout).toMatch(/Delta Ltd\s+https:\/\/send.delta.example\s+local secrets file\s+yes/);
    expect(list.stdout + list.stderr).not.toContain('key-');
    const removed = await cli(['workspaces', 'remove', 'Delta Ltd'], env);
    expect(removed.stdout).toContain('deactivated');
    expect((await cli(['workspaces', 'list'], env)).stdout).not.toContain('Delta Ltd');
    const unknown = await cli(['workspaces', 'remove', 'Nobody'], env);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('No workspace named "Nobody" is registered');
  });
});
