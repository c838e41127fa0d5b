import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmailBisonSim, type EmailBisonSim } from '../../sim/server';
import { cli, type CliResult } from '../helpers/cli';
import { tempDir } from '../helpers/cleanup';
import { createTestDatabase } from '../helpers/database';

/*
 * Keys are never printed and never lost, through the real CLI on a real database:
 * sentinel keys (unique strings) in malformed import files of many shapes must appear
 * in no output and no table, and a registration that fails (a bad row, a database
 * step that fails) leaves the secrets file byte for byte as it was.
 */
const db = await createTestDatabase();
const dir = tempDir('ss-import-keys-');
const secretsFile = path.join(dir, 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
const suffix = randomBytes(4).toString('hex');
const sentinel = (label: string) => `SENTINEL-${label}-${suffix}-7f3e`;
const BINYON_KEY = sentinel('BINYON');
let sim: EmailBisonSim;
let url: string;

/** Every sentinel made by this file: none may leave the secrets file. */
const made = new Set<string>([BINYON_KEY]);
function key(label: string): string {
  const value = sentinel(label);
  made.add(value);
  return value;
}

async function allTablesText(): Promise<string> {
  const tables = await db.sql<{ name: string }[]>`
    select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'
  `;
  expect(tables.length).toBeGreaterThan(5);
  const texts = await Promise.all(
    tables.map(async ({ name }) => {
      const [row] = await db.sql<{ text: string | null }[]>`select json_agg(t)::text as text from ${db.sql(name)} t`;
      return row.text ?? '';
    }),
  );
  return texts.join('\n');
}

async function expectNoSentinel(result: CliResult): Promise<void> {
  const tables = await allTablesText();
  for (const secret of made) {
    expect(result.stdout, 'stdout').not.toContain(secret);
    expect(result.stderr, 'stderr').not.toContain(secret);
    expect(tables, 'a table').not.toContain(secret);
    // No piece of a key either (csv-parse's own messages quote the start of a field).
    expect(result.stdout + result.stderr).not.toContain(secret.slice(0, 12));
  }
}

function file(name: string, content: string | Buffer): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}

const secretsBytes = () => readFileSync(secretsFile);
const workspaceNames = async () => (await db.sql<{ name: string }[]>`select name from workspaces order by id`).map((r) => r.name);

beforeAll(async () => {
  // Keys the simulator does not know: it answers 401 at once, so the binding is "not checked" and the row is saved.
  sim = await startEmailBisonSim({ scenario: 'grid:1:1' });
  url = sim.url;
  const added = await cli(['workspaces', 'add', 'Big Binyon', '--base-url', url], env, `${BINYON_KEY}\n`);
  expect(added.stderr).toBe('');
  expect(added.code).toBe(0);
  // A trigger standing for a database step that fails after the keys are stored.
  await db.sql.unsafe(`
    create function refuse_fail_co() returns trigger language plpgsql as $$
    begin
      if new.name = 'Fail Co' then raise exception 'forced failure of the database step'; end if;
      return new;
    end $$;
    create trigger refuse_fail_co before insert or update on workspaces for each row execute function refuse_fail_co();
  `);
});
afterAll(() => sim.close());

describe('a malformed import file is refused by position, without its content', () => {
  const header = 'name,base_url,api_key\n';
  const cases: [string, () => string, RegExp][] = [
    [
      'an unclosed quote (the rest of the file, keys included, inside one field)',
      () => `${header}Ok Co,${url},${key('OK1')}\n"Unclosed Co,${url},${key('UNCLOSED')}\nOne Over,${url},${key('OVER')}\n`,
      /line 3, column 1 \(name\): a quoted field is never closed/,
    ],
    [
      'a quote in the middle of a key',
      () => `${header}Ok Co,${url},${key('OK2')}\nMid Co,${url},${key('MID').slice(0, 20)}"${key('MID').slice(20)}\n`,
      /line 3, column 3 \(api_key\): a " inside a field that is not quoted/,
    ],
    [
      'a quote in the middle of a name',
      () => `${header}Mi"d Co,${url},${key('MIDNAME')}\n`,
      /line 2, column 1 \(name\): a " inside a field that is not quoted/,
    ],
    [
      'a missing column',
      () => `${header}Ok Co,${url},${key('OK3')}\nShort Co,${url}\n`,
      /line 3: 2 fields where the header has 3 \(no api_key\)/,
    ],
    [
      'a quote that closes a row later (a name holding a key and a line break)',
      () => `${header}"Swallow Co,${url},${key('SWALLOWED')}\nNext Co",${url},${key('NEXT')}\n`,
      /line 2, column 1 \(name\): the name has control characters/,
    ],
    [
      'a NUL byte in a name',
      () => `${header}Nul\u0000Co,${url},${key('NULNAME')}\n`,
      /line 2, column 1 \(name\): the name has control characters/,
    ],
    [
      'a NUL byte in a key',
      () => `${header}Nul Key Co,${url},${key('NULKEY').slice(0, 18)}\u0000${key('NULKEY').slice(18)}\n`,
      /line 2 \("Nul Key Co"\), column 3 \(api_key\): the api_key has spaces or control characters/,
    ],
    [
      'a 10 KB name',
      () => `${header}${'N'.repeat(10 * 1024)},${url},${key('LONG')}\n`,
      /line 2, column 1 \(name\): the name is longer than 200 characters/,
    ],
    [
      'no header line (the first row, with its key, where the header should be)',
      () => `Headless Co,${url},${key('HEADLESS')}\nOther Co,${url},${key('OTHER')}\n`,
      /line 1 must be a header naming the columns name, base_url, api_key/,
    ],
    [
      'a bad URL next to good rows',
      () => `${header}Good Co,${url},${key('GOOD')}\nTypo Co,htp://typo,${key('TYPO')}\n`,
      /line 3 \("Typo Co"\), column 2 \(base_url\): base_url must start with http:\/\/ or https:\/\//,
    ],
  ];

  for (const [shape, content, expected] of cases) {
    it(`refuses ${shape}`, async () => {
      const before = secretsBytes();
      const names = await workspaceNames();
      const result = await cli(['workspaces', 'import', file('bad.csv', content())], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('nothing imported');
      expect(result.stderr).toMatch(expected);
      expect(result.stdout).toBe('');
      await expectNoSentinel(result);
      expect(secretsBytes().equals(before)).toBe(true);
      expect(await workspaceNames()).toEqual(names);
    });
  }

  it('refuses a JSON file the same way (a NUL in a name, a key missing)', async () => {
    const before = secretsBytes();
    const bad = file(
      'bad.json',
      JSON.stringify([
        { name: 'Json\u0000Co', base_url: url, api_key: key('JSONNUL') },
        { name: 'Keyless Co', base_url: url, api_key: '' },
      ]),
    );
    const result = await cli(['workspaces', 'import', bad], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('row 1, field name: the name has control characters');
    expect(result.stderr).toContain('row 2 ("Keyless Co"), field api_key: no api_key');
    await expectNoSentinel(result);
    expect(secretsBytes().equals(before)).toBe(true);
  });
});

describe('a file written by a spreadsheet', () => {
  it('imports with a BOM, CRLF line ends and quoted fields', async () => {
    const csv = file(
      'spreadsheet.csv',
      Buffer.from(
        `\uFEFFName,Base_URL,API_Key\r\n"Acme, ""The"" Outbound",${url}/,${key('SHEET1')}\r\nBeta Co,"${url}","${key('SHEET2')}"\r\n\r\n`,
        'utf8',
      ),
    );
    const result = await cli(['workspaces', 'import', csv, '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const imported = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(imported.map((w) => w.name)).toEqual(['Acme, "The" Outbound', 'Beta Co']);
    expect(imported[0]).toMatchObject({
      base_url: url,
      key_in: 'local secrets file',
      api_key_ref_kind: 'file',
      active: true,
      emailbison_workspace_id: null,
      binding: { status: 'unknown' },
    });
    const secrets = JSON.parse(secretsBytes().toString('utf8'));
    expect(secrets).toMatchObject({ 'Acme, "The" Outbound': sentinel('SHEET1'), 'Beta Co': sentinel('SHEET2'), 'Big Binyon': BINYON_KEY });
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    await expectNoSentinel(result);
  });
});

describe('a failed registration leaves the secret store as it was', () => {
  it('a failed add with a bad URL does not overwrite the stored key', async () => {
    const before = secretsBytes();
    const result = await cli(['workspaces', 'add', 'Big Binyon', '--base-url', 'htp://typo'], env, 'WRONG\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Workspace "Big Binyon": base_url must start with http:// or https://; nothing stored.');
    expect(secretsBytes().equals(before)).toBe(true);
    expect(JSON.parse(before.toString('utf8'))['Big Binyon']).toBe(BINYON_KEY);
  });

  it.each([
    ['an empty name', ''],
    ['a blank name', '   '],
    ['a name with a line break', 'Two\nLines'],
    ['a 10 KB name', 'N'.repeat(10 * 1024)],
  ])('a failed add with %s stores nothing', async (_label, name) => {
    const before = secretsBytes();
    const result = await cli(['workspaces', 'add', name, '--base-url', url], env, `${key('BADNAME')}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The workspace name is refused');
    expect(result.stderr.length).toBeLessThan(300);
    expect(secretsBytes().equals(before)).toBe(true);
    await expectNoSentinel(result);
  });

  it('a failed add whose database step fails puts the secrets file back byte for byte', async () => {
    const before = secretsBytes();
    const result = await cli(['workspaces', 'add', 'Fail Co', '--base-url', url], env, `${key('FAILADD')}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('forced failure of the database step');
    expect(secretsBytes().equals(before)).toBe(true);
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(await workspaceNames()).not.toContain('Fail Co');
    await expectNoSentinel(result);
  });

  it('a failed import whose database step fails stores no key and overwrites none', async () => {
    const before = secretsBytes();
    const names = await workspaceNames();
    const csv = file(
      'fails.csv',
      `name,base_url,api_key\nBig Binyon,${url},${key('OVERWRITE')}\nGood Co,${url},${key('GOODCO')}\nFail Co,${url},${key('FAILIMPORT')}\n`,
    );
    const result = await cli(['workspaces', 'import', csv], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('forced failure of the database step');
    expect(secretsBytes().equals(before)).toBe(true);
    expect(await workspaceNames()).toEqual(names);
    await expectNoSentinel(result);
  });
});

describe('names are trimmed and unique regardless of case', () => {
  it('refuses " big binyon " beside "Big Binyon", storing nothing', async () => {
    const before = secretsBytes();
    const result = await cli(['workspaces', 'add', ' big binyon ', '--base-url', url], env, `${key('CASE')}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"big binyon" is already registered as "Big Binyon" (names are unique regardless of case)');
    expect(secretsBytes().equals(before)).toBe(true);
    expect(await db.sql`select count(*)::int as n from workspaces where lower(name) = 'big binyon'`).toEqual([{ n: 1 }]);
  });

  it('updates the workspace when the name is given with spaces around it', async () => {
    const result = await cli(['workspaces', 'add', '  Beta Co  ', '--base-url', url, '--json'], env, `${key('BETA2')}\n`);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'Beta Co', key_in: 'local secrets file' });
    expect(JSON.parse(secretsBytes().toString('utf8'))['Beta Co']).toBe(sentinel('BETA2'));
    expect(await db.sql`select count(*)::int as n from workspaces where lower(name) = 'beta co'`).toEqual([{ n: 1 }]);
    await expectNoSentinel(result);
  });

  it('refuses an import naming a registered workspace in another case, and a file naming one twice', async () => {
    const before = secretsBytes();
    const taken = await cli(['workspaces', 'import', file('case.csv', `name,base_url,api_key\nBIG BINYON,${url},${key('CASE2')}\n`)], env);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('line 2: "BIG BINYON" is already registered as "Big Binyon"');
    const twice = await cli(
      ['workspaces', 'import', file('twice.csv', `name,base_url,api_key\nDup Co,${url},${key('DUP1')}\ndup co,${url},${key('DUP2')}\n`)],
      env,
    );
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('line 3 ("dup co"), column 1 (name): the name appears twice (also line 2');
    expect(secretsBytes().equals(before)).toBe(true);
    await expectNoSentinel(taken);
    await expectNoSentinel(twice);
  });

  it('the database refuses a second name differing only in case', async () => {
    await expect(
      db.sql`insert into workspaces (name, base_url, api_key_ref) values ('BIG BINYON', ${url}, 'env:UNUSED')`,
    ).rejects.toMatchObject({ constraint_name: 'workspaces_name_lower_idx' });
  });
});

describe('--json of list and add describe the key the same way', () => {
  it('lists snake_case workspaces, never a key', async () => {
    const result = await cli(['workspaces', 'list', '--json'], env);
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as Record<string, unknown>[];
    const binyon = list.find((w) => w.name === 'Big Binyon')!;
    expect(Object.keys(binyon).sort()).toEqual(
      ['active', 'api_key_ref_kind', 'base_url', 'emailbison_workspace_id', 'id', 'instance_label', 'key_in', 'name'].sort(),
    );
    expect(binyon).toMatchObject({ key_in: 'local secrets file', api_key_ref_kind: 'file', active: true });
    for (const w of list) for (const k of Object.keys(w)) expect(k).toMatch(/^[a-z_]+$/);
    await expectNoSentinel(result);
  });
});
