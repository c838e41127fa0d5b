import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeLocalSecrets } from '../../../local/secrets-file';
import { registerSimulatorWorkspaces } from '../../../local/simulator-workspaces';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { cli } from '../../helpers/cli';
import { tempDir } from '../../helpers/cleanup';
import { createTestDatabase } from '../../helpers/database';

/*
 * Key binding as the operator meets it: `check-keys` shows which EmailBison workspace
 * each key reads (GET /api/users on the simulator), and `workspaces add|import` record
 * it and refuse a key that would mix two workspaces up.
 */
const db = await createTestDatabase();
const dir = tempDir('ss-binding-');
const secretsFile = path.join(dir, 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
let sim: EmailBisonSim;
let names: string[];

const workspaceOf = (name: string) => sim.workspaces().find((w) => w.name === name)!;
const keyOf = (name: string) => workspaceOf(name).apiKey;
type Check = {
  workspace: string;
  result: string;
  binding: { status: string; id?: number; name?: string } | null;
  binding_problems: string[];
};

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'grid:3:20' });
  ({ names } = await registerSimulatorWorkspaces(db.sql, sim, { secretsFile }));
});
afterAll(() => sim.close());
beforeEach(async () => {
  // Each key reads its own workspace again; every row active, recording its own workspace.
  for (const name of names) sim.bindKey(keyOf(name), name);
  sim.setUsersRoute(true);
  for (const name of names)
    await db.sql`update workspaces set active = true, emailbison_workspace_id = ${workspaceOf(name).id} where name = ${name}`;
  await db.sql`delete from workspaces where name not in ${db.sql(names)}`;
});

function expectNoSecrets(output: string) {
  for (const w of sim.workspaces()) {
    expect(output).not.toContain(w.apiKey);
    for (const secret of sim.workspaceSecrets(w.name)) expect(output).not.toContain(secret);
  }
}

describe('check-keys and key binding', () => {
  it("prints each key's bound workspace, EmailBison id and name, and exits 0 when all match", async () => {
    const result = await cli(['check-keys'], env);
    expect(result.code).toBe(0);
    for (const name of names) {
      const { id } = workspaceOf(name);
      expect(result.stdout).toMatch(new RegExp(`${name}\\s+OK\\s+20\\s+${id} ${name}`));
    }
    expect(result.stdout).toContain('3 of 3 keys OK');
    expectNoSecrets(result.stdout + result.stderr);
    const json: Check[] = JSON.parse((await cli(['check-keys', '--json'], env)).stdout).keys;
    expect(json.map((c) => c.binding)).toEqual(names.map((name) => ({ status: 'bound', id: workspaceOf(name).id, name })));
  });

  it('exits 2 when a key reads another workspace than its row records, and names both rows', async () => {
    const [a, b] = names;
    sim.bindKey(keyOf(a), b);
    const result = await cli(['check-keys'], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(new RegExp(`${a}\\s+OK\\s+20\\s+${workspaceOf(b).id} ${b}\\s+BOUND ELSEWHERE`));
    expect(result.stdout).toContain(
      `${a}: BOUND ELSEWHERE: the key reads EmailBison workspace ${workspaceOf(b).id} "${b}", the row records ${workspaceOf(a).id}`,
    );
    expect(result.stdout).toContain(`${a}: MIXED WORKSPACES: "${b}" also holds a key reading EmailBison workspace ${workspaceOf(b).id}`);
    // A and B both read B: neither key is OK; the third is.
    expect(result.stdout).toContain('1 of 3 keys OK');
    expectNoSecrets(result.stdout + result.stderr);
    const json: Check[] = JSON.parse((await cli(['check-keys', '--json'], env)).stdout).keys;
    expect(json.find((c) => c.workspace === a)).toMatchObject({
      result: 'ok',
      binding: { status: 'bound', id: workspaceOf(b).id, name: b },
    });
    expect(json.find((c) => c.workspace === names[2])!.binding_problems).toEqual([]);
  });

  it('exits 2 when two registered workspaces hold keys bound to the same EmailBison workspace', async () => {
    const [, b] = names;
    // A second row for B, with a key minted for B and no binding recorded yet.
    await writeLocalSecrets(secretsFile, { 'sim:B copy': sim.mintKey(b) });
    await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('B copy', ${sim.url}, 'file:sim:B copy')`;
    const result = await cli(['check-keys'], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(new RegExp(`B copy\\s+OK\\s+20\\s+${workspaceOf(b).id} ${b}\\s+MIXED WORKSPACES`));
    expect(result.stdout).toContain(`B copy: MIXED WORKSPACES: "${b}" also holds a key reading EmailBison workspace ${workspaceOf(b).id}`);
    expect(result.stdout).not.toContain('BOUND ELSEWHERE');
    expectNoSecrets(result.stdout + result.stderr);
  });

  it('says a binding was not checked on an instance without /api/users, and exits 0', async () => {
    sim.setUsersRoute(false);
    const result = await cli(['check-keys'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('binding not checked: ');
    expect(result.stdout).toContain('does not answer GET /api/users (HTTP 404)');
  });
});

describe('workspaces add and import record the binding', () => {
  it('refuses (exit 2, nothing stored) a key bound to a workspace another registered row holds', async () => {
    const [a] = names;
    const before = existsSync(secretsFile) ? readFileSync(secretsFile, 'utf8') : '';
    const result = await cli(['workspaces', 'add', 'A again', '--base-url', sim.url], env, `${sim.mintKey(a)}\n`);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refused, nothing stored');
    expect(result.stderr).toContain(
      `"A again": its key reads EmailBison workspace ${workspaceOf(a).id} "${a}", which registered workspace "${a}" already holds`,
    );
    expect(await db.sql`select count(*)::int as n from workspaces where name = 'A again'`).toEqual([{ n: 0 }]);
    expect(readFileSync(secretsFile, 'utf8')).toBe(before);
    expectNoSecrets(result.stdout + result.stderr);
  });

  it('records the bound workspace when the key is the only one reading it', async () => {
    const [a] = names;
    await db.sql`update workspaces set active = false where name = ${a}`;
    const result = await cli(['workspaces', 'add', 'A again', '--base-url', sim.url], env, `${sim.mintKey(a)}\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`workspace "A again" saved`);
    expect(result.stdout).toContain(`its key reads EmailBison workspace ${workspaceOf(a).id} "${a}"`);
    const [row] =
      await db.sql`select emailbison_workspace_id, emailbison_workspace_name, binding_checked_at from workspaces where name = 'A again'`;
    expect(row).toMatchObject({
      emailbison_workspace_id: workspaceOf(a).id,
      emailbison_workspace_name: a,
      binding_checked_at: expect.any(Date),
    });
    expectNoSecrets(result.stdout + result.stderr + JSON.stringify(await db.sql`select * from workspaces`));
  });

  it('refuses a key that reads another workspace than --emailbison-id says', async () => {
    const [a, b] = names;
    await db.sql`update workspaces set active = false where name = ${b}`;
    const result = await cli(
      ['workspaces', 'add', 'Wrong', '--base-url', sim.url, '--emailbison-id', String(workspaceOf(a).id)],
      env,
      `${sim.mintKey(b)}\n`,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `"Wrong": its key reads EmailBison workspace ${workspaceOf(b).id} "${b}", but the row says EmailBison workspace ${workspaceOf(a).id}`,
    );
    expect(await db.sql`select count(*)::int as n from workspaces where name = 'Wrong'`).toEqual([{ n: 0 }]);
  });

  it('saves and says "binding not checked" when the instance cannot say', async () => {
    sim.setUsersRoute(false);
    const [, , c] = names;
    await db.sql`update workspaces set active = false where name = ${c}`;
    const result = await cli(['workspaces', 'add', 'C again', '--base-url', sim.url], env, `${sim.mintKey(c)}\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/workspace "C again" saved .*; binding not checked: .*does not answer GET \/api\/users \(HTTP 404\)/);
    expect(await db.sql`select emailbison_workspace_id from workspaces where name = 'C again'`).toEqual([
      { emailbison_workspace_id: null },
    ]);
  });

  it('imports with each binding recorded, and refuses a file whose two keys read one workspace', async () => {
    const [a, b] = names;
    await db.sql`update workspaces set active = false`;
    const bad = path.join(dir, 'mixed.csv');
    writeFileSync(bad, `name,base_url,api_key\nOne,${sim.url},${sim.mintKey(b)}\nTwo,${sim.url},${sim.mintKey(b)}\n`);
    const refused = await cli(['workspaces', 'import', bad], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`"One" and "Two": both keys read EmailBison workspace ${workspaceOf(b).id} "${b}"`);
    expect(await db.sql`select count(*)::int as n from workspaces where name in ('One', 'Two')`).toEqual([{ n: 0 }]);
    expectNoSecrets(refused.stdout + refused.stderr);

    const good = path.join(dir, 'good.csv');
    writeFileSync(good, `name,base_url,api_key\nOne,${sim.url},${sim.mintKey(a)}\nTwo,${sim.url},${sim.mintKey(b)}\n`);
    const imported = await cli(['workspaces', 'import', good], env);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(`One: its key reads EmailBison workspace ${workspaceOf(a).id} "${a}"`);
    expect(imported.stdout).toContain(`Two: its key reads EmailBison workspace ${workspaceOf(b).id} "${b}"`);
    expect(await db.sql`select name, emailbison_workspace_id as id from workspaces where name in ('One', 'Two') order by name`).toEqual([
      { name: 'One', id: workspaceOf(a).id },
      { name: 'Two', id: workspaceOf(b).id },
    ]);
  });
});
