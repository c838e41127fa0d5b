import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { cli, type CliResult } from '../../helpers/cli';
import { tempDir } from '../../helpers/cleanup';
import { createEmptyDatabase, createTestDatabase } from '../../helpers/database';

/*
 * The cut-over from the replaced system: its `client_registry` table, keys in plain text, in
 * the same database sender-sync uses. `workspaces import --from-client-registry` moves each
 * active row's key into the secret store and registers the workspace, all or nothing; the
 * shared admin key and keys bound elsewhere are refused; no key is ever printed.
 */
const db = await createTestDatabase();
const dir = tempDir('ss-client-registry-');
const secretsFile = path.join(dir, 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
const SHARED_ADMIN_KEY = 'replaced_system_admin_key_sentinel_91c2';
const INACTIVE_KEY = 'inactive_row_key_sentinel_77d4';
const ACCOUNTS = 6;
const outputs: string[] = [];
const mintedKeys: string[] = [];
let sim: EmailBisonSim;
let names: string[];

const workspaceOf = (name: string) => sim.workspaces().find((w) => w.name === name)!;
const keyOf = (name: string) => workspaceOf(name).apiKey;
const secrets = (): Record<string, string> => (existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, 'utf8')) : {});

async function importRegistry(args: string[] = []): Promise<CliResult> {
  const result = await cli(['workspaces', 'import', '--from-client-registry', ...args], env);
  outputs.push(result.stdout, result.stderr);
  return result;
}

/** The replaced system's table as it was: three workspaces with their keys, one with none, one inactive. */
async function seed(rows: { name: string; id: number | null; key: string | null; active?: boolean }[]) {
  await db.sql`delete from client_registry`;
  for (const row of rows) {
    await db.sql`
      insert into client_registry (workspace_name, bison_workspace_id, bison_instance, bison_api_key, is_active)
      values (${row.name}, ${row.id}, ${sim.url}, ${row.key}, ${row.active ?? true})
    `;
  }
}

function healthyRows() {
  const [a, b, c, d] = names;
  return [
    { name: a, id: workspaceOf(a).id, key: keyOf(a) },
    { name: b, id: workspaceOf(b).id, key: keyOf(b) },
    { name: c, id: workspaceOf(c).id, key: keyOf(c) },
    { name: d, id: workspaceOf(d).id, key: null },
    { name: 'Former Client', id: 99, key: INACTIVE_KEY, active: false },
  ];
}

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: `grid:4:${ACCOUNTS}` });
  names = sim.workspaces().map((w) => w.name);
  await db.sql`
    create table client_registry (
      id serial primary key,
      workspace_name text not null,
      bison_workspace_id integer,
      bison_instance text,
      bison_api_key text,
      is_active boolean default true
    )
  `;
});
afterAll(() => sim.close());

describe('workspaces import --from-client-registry', () => {
  beforeEach(() => {
    expect(existsSync(secretsFile)).toBe(false);
  });

  it("refuses the replaced system's shared admin key on several rows: nothing stored or registered", async () => {
    const rows = healthyRows();
    rows[1].key = SHARED_ADMIN_KEY;
    rows[2].key = SHARED_ADMIN_KEY;
    await seed(rows);
    const result = await importRegistry();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refused, nothing imported or stored');
    expect(result.stderr).toContain(`rows "${names[1]}", "${names[2]}" hold one and the same key`);
    expect(await db.sql`select name from workspaces`).toEqual([]);
  });

  it("refuses a key whose binding (GET /api/users) is not the row's bison_workspace_id", async () => {
    const rows = healthyRows();
    rows[1].key = sim.mintKey(names[2]);
    mintedKeys.push(rows[1].key);
    await seed(rows);
    const result = await importRegistry();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `"${names[1]}": its key reads EmailBison workspace ${workspaceOf(names[2]).id} "${names[2]}", but the row says EmailBison workspace ${workspaceOf(names[1]).id}`,
    );
    expect(await db.sql`select name from workspaces`).toEqual([]);
  });

  it('registers each active row with its key in the secret store, its EmailBison id and instance, and names rows with no key', async () => {
    await seed(healthyRows());
    const result = await importRegistry(['--json']);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.imported.map((r: { name: string }) => r.name)).toEqual(names.slice(0, 3));
    expect(json.no_key).toEqual([names[3]]);
    expect(json.inactive).toEqual(['Former Client']);
    expect(json.cleared_plaintext_keys).toBeNull();
    const registered = await db.sql`
      select name, base_url, emailbison_workspace_id, emailbison_workspace_name, api_key_ref, active from workspaces order by name
    `;
    expect(registered).toEqual(
      names.slice(0, 3).map((name) => ({
        name,
        base_url: sim.url,
        emailbison_workspace_id: workspaceOf(name).id,
        emailbison_workspace_name: name,
        api_key_ref: `file:${name}`,
        active: true,
      })),
    );
    expect(secrets()).toEqual(Object.fromEntries(names.slice(0, 3).map((name) => [name, keyOf(name)])));
    // The plain-text keys stay until asked.
    expect(await db.sql`select count(*)::int as n from client_registry where bison_api_key is not null`).toEqual([{ n: 4 }]);
  });
});

describe('after the import', () => {
  it('says which rows had no key, and with --clear-plaintext-keys nulls the keys it moved (and only those)', async () => {
    const result = await importRegistry(['--clear-plaintext-keys']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('imported 3 workspaces from client_registry; keys stored in the local secrets file.');
    expect(result.stdout).toContain(`1 active row had no key, not imported: "${names[3]}"`);
    expect(result.stdout).toContain('cleared 3 plain-text keys in client_registry.');
    const left = await db.sql`select workspace_name, bison_api_key from client_registry where bison_api_key is not null`;
    expect(left).toEqual([{ workspace_name: 'Former Client', bison_api_key: INACTIVE_KEY }]);
    expect(secrets()).toEqual(Object.fromEntries(names.slice(0, 3).map((name) => [name, keyOf(name)])));
  });

  it('then a local run syncs the imported workspaces', async () => {
    // The registered instance is this test's simulator, no instance other tools share: no request cap.
    const result = await cli(['run'], { ...env, EMAILBISON_MAX_RPS: '0' });
    outputs.push(result.stdout, result.stderr);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const live = await db.sql<{ name: string; n: number }[]>`
      select w.name, count(*)::int as n from sender_emails se join workspaces w on w.id = se.workspace_id
      where se.deleted_at is null group by w.name order by w.name
    `;
    expect(Object.fromEntries(live.map((r) => [r.name, r.n]))).toEqual(Object.fromEntries(names.slice(0, 3).map((n) => [n, ACCOUNTS])));
  });

  it('reads a database given by URL, and says so when it has no client_registry', async () => {
    const empty = await createEmptyDatabase();
    const result = await importRegistry([empty.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('This database has no client_registry table: nothing to import.');
  });

  it('takes a file or --from-client-registry: neither is a usage error (exit 64)', async () => {
    const result = await cli(['workspaces', 'import'], env);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('needs a CSV or JSON file, or --from-client-registry');
  });

  it('takes a bad --instance as a usage error (exit 64, one line and where the help is), and --instance only with --from-client-registry', async () => {
    for (const bad of ['Long Run', '=https://send.example.com', 'Long Run=ftp://send.example.com']) {
      const result = await cli(['workspaces', 'import', '--from-client-registry', '--instance', bad], env);
      expect(result.code, bad).toBe(64);
      expect(result.stderr.trim().split('\n'), bad).toEqual([
        expect.stringContaining(`sender-sync: option '--instance <label=url>' argument '${bad}' is invalid.`),
        'see `sender-sync workspaces import --help`',
      ]);
    }
    const misplaced = await cli(['workspaces', 'import', 'workspaces.csv', '--instance', 'Maverick=https://send.example.com'], env);
    expect(misplaced.code).toBe(64);
    expect(misplaced.stderr).toContain('--instance goes with --from-client-registry.');
  });

  it('never printed a key', () => {
    const keys = [SHARED_ADMIN_KEY, INACTIVE_KEY, ...mintedKeys, ...sim.workspaces().map((w) => w.apiKey)];
    for (const output of outputs) for (const key of keys) expect(output).not.toContain(key);
  });
});
