import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { cli, type CliResult } from '../../helpers/cli';
import { tempDir } from '../../helpers/cleanup';
import { createTestDatabase } from '../../helpers/database';

/*
 * `workspaces discover` onboards a whole instance from its super-admin key: against the
 * simulator (17 workspaces: two pages of the workspaces list), a real database and the CLI
 * as an operator runs it. The admin key goes in on standard input and must never come out.
 */
const ADMIN_KEY = 'sim_admin_sentinel_5f1e0c2b9a7d4e3f8a6b';
const WORKSPACES = 17;
const ACCOUNTS = 4;
const db = await createTestDatabase();
const dir = tempDir('ss-discover-');
const secretsFile = path.join(dir, 'secrets.json');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile };
const outputs: string[] = [];
let sim: EmailBisonSim;

type Entry = { emailbison_workspace_id: number; name: string; action: string; key_minted: boolean; key_in: string | null };
type Discovery = { dry_run: boolean; workspaces: Entry[]; minted: number; error: string | null };

async function discover(args: string[], input = `${ADMIN_KEY}\n`): Promise<CliResult> {
  const result = await cli(['workspaces', 'discover', '--base-url', sim.url, ...args], env, input);
  outputs.push(result.stdout, result.stderr);
  return result;
}

const secrets = (): Record<string, string> => (existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, 'utf8')) : {});
const rows = () =>
  db.sql<{ name: string; base_url: string; emailbison_workspace_id: number | null; api_key_ref: string; active: boolean }[]>`
    select name, base_url, emailbison_workspace_id, api_key_ref, active from workspaces order by emailbison_workspace_id
  `;

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: `grid:${WORKSPACES}:${ACCOUNTS}`, adminKey: ADMIN_KEY });
});
afterAll(() => sim.close());

describe('workspaces discover', () => {
  it('lists every workspace the admin key sees, over all pages in either pagination shape, and changes nothing', async () => {
    for (const mode of ['page', 'cursor-only'] as const) {
      sim.setPagination(mode);
      const result = await discover(['--json']);
      expect(result.code, result.stderr).toBe(0);
      const json: Discovery = JSON.parse(result.stdout);
      expect(json.dry_run).toBe(true);
      expect(json.workspaces.map((w) => [w.emailbison_workspace_id, w.name, w.action])).toEqual(
        sim.workspaces().map((w) => [w.id, w.name, 'would_register']),
      );
    }
    sim.setPagination('page');
    const text = await discover([]);
    expect(text.stdout).toContain(
      `${WORKSPACES} workspaces at ${sim.url}: 0 already registered, ${WORKSPACES} would be registered. Dry run`,
    );
    expect(sim.mintedTokens()).toEqual([]);
    expect(await rows()).toEqual([]);
    expect(existsSync(secretsFile)).toBe(false);
  });

  it('refuses to start without the admin key (exit 64) and says a rejected admin key is one', async () => {
    const none = await discover([], '');
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('no super-admin key');
    const wrong = await discover([], 'not-the-admin-key\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('answered HTTP 401 to GET /api/workspaces/v1.1 with the super-admin key');
  });

  it('stores and registers every key it minted when a mint fails midway, then stops', async () => {
    sim.setTokenMintFailure({ afterMints: 5, status: 500 });
    const result = await discover(['--mint-keys', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('stopped: minting a key for');
    const json: Discovery = JSON.parse(result.stdout);
    expect(json.minted).toBe(5);
    expect(json.workspaces.filter((w) => w.action === 'registered')).toHaveLength(5);
    expect(json.workspaces.filter((w) => w.action === 'not_reached')).toHaveLength(WORKSPACES - 5);
    const minted = sim.mintedTokens();
    expect(minted).toHaveLength(5);
    const stored = secrets();
    for (const token of minted) {
      expect(token.name).toBe('sender-sync');
      expect(stored[token.workspace]).toBe(token.apiKey);
    }
    expect((await rows()).map((r) => r.name)).toEqual(minted.map((t) => t.workspace));
  });

  it('registers the rest on a re-run, minting only for workspaces not yet registered', async () => {
    sim.setTokenMintFailure(undefined);
    const result = await discover(['--mint-keys']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `${WORKSPACES - 5} registered now (one key minted and stored each), 5 already registered (nothing minted)`,
    );
    const minted = sim.mintedTokens();
    expect(minted).toHaveLength(WORKSPACES);
    expect(new Set(minted.map((t) => t.workspace)).size).toBe(WORKSPACES);
    const stored = secrets();
    const registered = await rows();
    expect(registered).toHaveLength(WORKSPACES);
    for (const workspace of sim.workspaces()) {
      const row = registered.find((r) => r.emailbison_workspace_id === workspace.id)!;
      expect(row).toMatchObject({ name: workspace.name, base_url: sim.url, api_key_ref: `file:${workspace.name}`, active: true });
      expect(sim.keyBinding(stored[workspace.name])).toBe(workspace.name);
    }
    const [{ checked }] = await db.sql<{ checked: number }[]>`
      select count(*)::int as checked from workspaces where binding_checked_at is not null and emailbison_workspace_name = name
    `;
    expect(checked).toBe(WORKSPACES);
  });

  it('changes nothing when run again: no key minted, the store and the registry as they were', async () => {
    const storeBefore = readFileSync(secretsFile, 'utf8');
    const rowsBefore = await db.sql`select * from workspaces order by id`;
    const result = await discover(['--mint-keys', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const json: Discovery = JSON.parse(result.stdout);
    expect(json.minted).toBe(0);
    expect(new Set(json.workspaces.map((w) => w.action))).toEqual(new Set(['already_registered']));
    expect(sim.mintedTokens()).toHaveLength(WORKSPACES);
    expect(readFileSync(secretsFile, 'utf8')).toBe(storeBefore);
    expect(await db.sql`select * from workspaces order by id`).toEqual(rowsBefore);
  });

  it('then a local run syncs every discovered workspace', async () => {
    // The registered instance is this test's simulator, no instance other tools share: no request cap.
    const result = await cli(['run'], { ...env, EMAILBISON_MAX_RPS: '0' });
    outputs.push(result.stdout, result.stderr);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const [job] = await db.sql`select status, total_workspaces from polling_job_status order by started_at desc limit 1`;
    expect(job).toMatchObject({ status: 'completed', total_workspaces: WORKSPACES });
    const live = await db.sql<{ name: string; n: number }[]>`
      select w.name, count(*)::int as n from sender_emails se join workspaces w on w.id = se.workspace_id
      where se.deleted_at is null group by w.name order by w.name
    `;
    expect(Object.fromEntries(live.map((r) => [r.name, r.n]))).toEqual(Object.fromEntries(sim.workspaces().map((w) => [w.name, ACCOUNTS])));
  });

  it('never stores or prints the admin key: not in any output, the secret store or any table', async () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const output of outputs) expect(output).not.toContain(ADMIN_KEY);
    const minted = sim.mintedTokens().map((t) => t.apiKey);
    for (const output of outputs) for (const key of minted) expect(output).not.toContain(key);
    expect(readFileSync(secretsFile, 'utf8')).not.toContain(ADMIN_KEY);
    const tables = await db.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'
    `;
    for (const { table_name } of tables) {
      const dump = JSON.stringify(await db.sql`select * from ${db.sql(table_name)}`);
      expect(dump, table_name).not.toContain(ADMIN_KEY);
      for (const key of minted) expect(dump, table_name).not.toContain(key);
    }
  });
});

describe('two discover runs at once', () => {
  it('mint one key per workspace between them, each stored under its registered row', async () => {
    const other = await createTestDatabase();
    const otherSecrets = path.join(dir, 'other-secrets.json');
    const otherEnv = { DATABASE_URL: other.url, SENDER_SYNC_SECRETS_FILE: otherSecrets };
    // Latency so that the two runs' mints interleave.
    const instance = await startEmailBisonSim({ scenario: 'grid:6:2', adminKey: ADMIN_KEY, latencyMs: 40 });
    try {
      const args = ['workspaces', 'discover', '--base-url', instance.url, '--mint-keys'];
      const runs = await Promise.all([cli(args, otherEnv, `${ADMIN_KEY}\n`), cli(args, otherEnv, `${ADMIN_KEY}\n`)]);
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout + run.stderr).not.toContain(ADMIN_KEY);
      }
      const minted = instance.mintedTokens();
      expect(minted.map((t) => t.workspace).sort()).toEqual(
        instance
          .workspaces()
          .map((w) => w.name)
          .sort(),
      );
      const stored = JSON.parse(readFileSync(otherSecrets, 'utf8'));
      for (const token of minted) expect(stored[token.workspace]).toBe(token.apiKey);
      expect(await other.sql`select count(*)::int as n from workspaces`).toEqual([{ n: 6 }]);
    } finally {
      await instance.close();
    }
  });
});
