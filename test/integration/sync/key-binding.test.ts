import { afterEach, describe, expect, it } from 'vitest';
import { checkKeyBinding } from '../../../lambdas/emailbison/key-binding';
import { findBindingConflicts, recordBinding } from '../../../lambdas/workspaces/binding';
import type { TaskLog } from '../../../lambdas/runtime/deps';
import { createTestDatabase } from '../../helpers/database';
import { runJobAsMap } from '../../helpers/map-run';
import { createWorld, liveAccounts, runJobDirectly, storedAccounts, truthAsStored, type World } from '../../helpers/world';

const db = await createTestDatabase();
let world: World | undefined;
afterEach(async () => {
  await world?.sim.close();
  world = undefined;
});

/** The scenario's first two workspaces: A's row will hold B's key. */
let A = '';
let B = '';

/** Every line the tasks log, as text: what a person reading CloudWatch would see. */
function capturingLog(lines: string[]): TaskLog {
  const write = (message: string, fields?: Record<string, unknown>) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { info: write, warn: write, error: write, setContext: (fields) => lines.push(JSON.stringify(fields)) };
}

async function gridWorld(lines: string[] = []): Promise<World> {
  world = await createWorld(db.sql, { scenario: 'grid:3:40' });
  world.deps.log = capturingLog(lines);
  [A, B] = world.sim.workspaces().map((w) => w.name);
  return world;
}

async function registryRow(name: string) {
  const [row] = await db.sql<
    { id: number; emailbison_workspace_id: number | null; emailbison_workspace_name: string | null; binding_checked_at: Date | null }[]
  >`
    select id, emailbison_workspace_id, emailbison_workspace_name, binding_checked_at from workspaces where name = ${name}`;
  return row;
}

/** Everything the run left in Postgres that a person could read, as one text. */
async function everythingStored(jobId: string): Promise<string> {
  const tables = await Promise.all([
    db.sql`select * from polling_job_status where id = ${jobId}`,
    db.sql`select * from polling_job_workspaces where job_id = ${jobId}`,
    db.sql`select * from workspaces`,
    db.sql`select * from emailbison_host_budget`,
  ]);
  return JSON.stringify(tables);
}

describe('the key binding, checked once per run and workspace', () => {
  it('records the bound EmailBison workspace when the row has none, and syncs', async () => {
    const { sim, deps } = await gridWorld();
    await db.sql`update workspaces set emailbison_workspace_id = null`;
    sim.clearRequestLog();

    const summary = await runJobDirectly(deps);

    expect(summary).toMatchObject({ status: 'completed', workspacesSynced: 3, warnings: [] });
    const simA = sim.workspaces().find((w) => w.name === A)!;
    expect(await registryRow(A)).toMatchObject({
      emailbison_workspace_id: simA.id,
      emailbison_workspace_name: A,
      binding_checked_at: expect.any(Date),
    });
    // Once per workspace, at its first invocation only.
    expect(
      sim
        .requestLog()
        .filter((r) => r.path === '/api/users')
        .map((r) => r.workspace),
    ).toEqual(sim.workspaces().map((w) => w.name));
  });

  it('checks at the first invocation only, not on cursor-loop continuations', async () => {
    const { sim, deps } = await gridWorld();
    sim.clearRequestLog();
    let fakeNow = Date.now();
    // Every page boundary is past the deadline: one page per invocation.
    const summary = await runJobDirectly({ ...deps, now: () => (fakeNow += 10_000), config: { ...deps.config, syncBudgetSeconds: 1 } }, [
      A,
    ]);
    expect(summary).toMatchObject({ status: 'completed', workspacesSynced: 1 });
    expect(summary.invocations).toBeGreaterThan(1);
    expect(sim.requestLog().filter((r) => r.path === '/api/users')).toHaveLength(1);
  });

  it("fails a workspace whose key reads another workspace, writing and removing nothing, and leaks none of the answer's secrets", async () => {
    const lines: string[] = [];
    const { sim, deps } = await gridWorld(lines);
    const first = await runJobDirectly(deps);
    expect(first.status).toBe('completed');
    const before = await storedAccounts(db.sql, A);
    expect(before).toEqual(truthAsStored(sim, A));
    const keyOfA = sim.workspaces().find((w) => w.name === A)!.apiKey;
    sim.bindKey(keyOfA, B); // A's row now holds B's key
    sim.addAccounts(B, 5);

    const summary = await runJobAsMap(deps, { databaseUrl: db.url });

    expect(summary).toMatchObject({ status: 'partial', workspacesSynced: 2, workspacesFailed: 1 });
    const simB = sim.workspaces().find((w) => w.name === B)!;
    const warning = summary.warnings.find((w) => w.startsWith(`${A}: `))!;
    expect(warning.startsWith(`${A}: failed: KeyBoundElsewhereError: `)).toBe(true);
    expect(warning).toContain(`"${A}"`);
    expect(warning).toContain(`"${B}", id ${simB.id}`);
    // Nothing written, nothing removed: A's rows are as before, B's accounts not among them.
    expect(await storedAccounts(db.sql, A)).toEqual(before);
    expect(await liveAccounts(db.sql, B)).toEqual(truthAsStored(sim, B));
    const [{ requests }] = await db.sql<{ requests: number }[]>`
      select api_requests as requests from polling_job_workspaces where job_id = ${summary.jobId} and workspace_name = ${A}`;
    expect(requests).toBe(1); // GET /api/users, and no page

    const stored = await everythingStored(summary.jobId);
    const secrets = [...sim.workspaces().flatMap((w) => sim.workspaceSecrets(w.name)), ...sim.workspaces().map((w) => w.apiKey)];
    expect(secrets.length).toBeGreaterThan(6);
    for (const secret of secrets) {
      expect(stored).not.toContain(secret);
      expect(lines.join('\n')).not.toContain(secret);
      expect(summary.warnings.join('\n')).not.toContain(secret);
    }
  });

  it('fails a key that reads a workspace another row already holds, on the run that would record it', async () => {
    const { sim, deps } = await gridWorld();
    await db.sql`update workspaces set emailbison_workspace_id = null where name = ${A}`;
    sim.bindKey(sim.workspaces().find((w) => w.name === A)!.apiKey, B);
    const before = await storedAccounts(db.sql, A); // what earlier tests of this file left

    const summary = await runJobDirectly(deps);

    expect(summary.warnings.some((w) => w.startsWith(`${A}: failed: KeyBoundElsewhereError: `))).toBe(true);
    expect(await storedAccounts(db.sql, A)).toEqual(before);
    expect((await registryRow(A)).emailbison_workspace_id).toBeNull();
  });

  it('syncs on with a warning when the instance does not answer /api/users', async () => {
    const { sim, deps } = await gridWorld();
    sim.setUsersRoute(false);

    const summary = await runJobDirectly(deps);

    expect(summary).toMatchObject({ status: 'completed', workspacesSynced: 3 });
    expect(summary.warnings).toContainEqual(`${A}: API key binding not checked: ${sim.url} does not answer GET /api/users (HTTP 404)`);
    expect(await storedAccounts(db.sql, A)).toEqual(truthAsStored(sim, A));
  });
});

describe('the binding functions the CLI uses', () => {
  it('checkKeyBinding: bound (id and name only), unknown without the route, RejectedApiKeyError for a revoked key', async () => {
    const { sim } = await gridWorld();
    const a = sim.workspaces().find((w) => w.name === A)!;
    const binding = await checkKeyBinding({ workspace: A, baseUrl: sim.url, apiKey: a.apiKey });
    expect(binding).toEqual({ status: 'bound', id: a.id, name: A });
    sim.setUsersRoute(false);
    expect(await checkKeyBinding({ workspace: A, baseUrl: sim.url, apiKey: a.apiKey })).toMatchObject({ status: 'unknown' });
    sim.setUsersRoute(true);
    sim.revokeKey(a.apiKey);
    const error = await checkKeyBinding({ workspace: A, baseUrl: sim.url, apiKey: a.apiKey }).catch((e) => e);
    expect(error).toMatchObject({ name: 'RejectedApiKeyError', code: 'SS_EMAILBISON_KEY_REJECTED' });
    expect(error.message).not.toContain(a.apiKey);
  });

  it('findBindingConflicts: two rows bound to one EmailBison workspace, and a row whose key reads another than recorded', async () => {
    const { sim } = await gridWorld();
    const [a, b] = [A, B].map((name) => sim.workspaces().find((w) => w.name === name)!);
    expect(await findBindingConflicts(db.sql)).toEqual([]);

    const rowA = await registryRow(A);
    sim.bindKey(a.apiKey, B);
    const fresh = await checkKeyBinding({ workspace: A, baseUrl: sim.url, apiKey: a.apiKey });
    const conflicts = await findBindingConflicts(db.sql, [{ workspaceId: rowA.id, binding: fresh }]);
    expect(conflicts).toEqual(
      expect.arrayContaining([
        { kind: 'mismatch', workspace: A, recordedId: a.id, bound: { id: b.id, name: B } },
        { kind: 'shared', baseUrl: sim.url, emailbisonWorkspaceId: b.id, workspaces: [A, B] },
      ]),
    );

    if (fresh.status !== 'bound') throw new Error('expected a binding');
    await recordBinding(db.sql, rowA.id, fresh);
    expect(await findBindingConflicts(db.sql)).toEqual([
      { kind: 'shared', baseUrl: sim.url, emailbisonWorkspaceId: b.id, workspaces: [A, B] },
    ]);
  });
});
