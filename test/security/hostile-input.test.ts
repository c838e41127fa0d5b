import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/config/load-config';
import { noMetrics, silentLog, type TaskDeps } from '../../lambdas/runtime/deps';
import { createSecretResolver } from '../../lambdas/secrets/resolve';
import { registerSimulatorWorkspaces } from '../../local/simulator-workspaces';
import { startEmailBisonSim, type EmailBisonSim } from '../../sim/server';
import { createTestDatabase } from '../helpers/database';
import { runLocally } from '../helpers/local-run';
import { fastSleep } from '../helpers/world';
import { tempDir } from '../helpers/cleanup';

/*
 * Hostile names and API fields are stored verbatim and never executed; inputs of the
 * wrong shape are refused with a clear error.
 */
const db = await createTestDatabase();
const HOSTILE_NAMES = [
  `Robert'); DROP TABLE sender_emails;--`,
  `Back\\slash "double" 'single' \`tick\``,
  `Rocket 🚀 Outreach 📧 ✉️`,
  `Control\u0001\u0007\u001b[31mred\u001b[0m\ttab`,
];
const LONG = 'x'.repeat(10 * 1024);
const HOSTILE_FIELDS = {
  name: `'; drop table sender_emails; --`,
  email_signature: `<script>alert("x")</script>\\n\\\\ $$ $1 %s {{7*7}} \u0002\u001f`,
  status: LONG,
  tags: [
    { id: 99, name: `"; DELETE FROM workspaces; --`, default: false },
    { id: 100, name: '🔥 hot 🔥', default: true },
  ],
  type: `\\x00 not a nul, just text`,
  brand_new_field: { nested: [`'); truncate polling_job_status; --`, LONG] },
};
let sim: EmailBisonSim;
let deps: TaskDeps;

beforeAll(async () => {
  sim = await startEmailBisonSim({
    scenario: {
      name: 'hostile',
      seed: 11,
      epoch: '2025-10-01T09:00:00Z',
      workspaces: HOSTILE_NAMES.map((name) => ({ name, accounts: 20 })),
    },
  });
  const secretsFile = path.join(tempDir('ss-hostile-'), 'secrets.json');
  await registerSimulatorWorkspaces(db.sql, sim, { secretsFile });
  deps = {
    sql: db.sql,
    config: loadConfig({}),
    secrets: createSecretResolver({ localSecretsFile: secretsFile }),
    log: silentLog,
    metrics: noMetrics,
    now: Date.now,
    emailbison: { sleep: fastSleep },
  };
});
afterAll(() => sim.close());

describe('hostile input', () => {
  it('stores hostile workspace names and API fields verbatim and executes nothing', async () => {
    const patched = HOSTILE_NAMES.map((name) => sim.patchAccount(name, sim.truth(name)[0].id, HOSTILE_FIELDS));
    const result = await runLocally(deps, { workspaces: HOSTILE_NAMES });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'completed', totalWorkspaces: 4, totalAccountsSynced: 80 });
    // The simulator's workspaces are registered in parallel: their ids come in any order.
    const names = await db.sql`select name from workspaces`;
    expect(names.map((r) => r.name).sort()).toEqual([...HOSTILE_NAMES].sort());
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      const [row] = await db.sql`
        select se.name, se.email_signature, se.status, se.type, se.tags, se.raw
        from sender_emails se join workspaces w on w.id = se.workspace_id
        where w.name = ${name} and se.emailbison_id = ${patched[i].id}`;
      expect(row).toEqual({
        name: HOSTILE_FIELDS.name,
        email_signature: HOSTILE_FIELDS.email_signature,
        status: LONG,
        type: HOSTILE_FIELDS.type,
        tags: HOSTILE_FIELDS.tags,
        raw: patched[i],
      });
    }
    const [counts] = await db.sql`
      select (select count(*)::int from sender_emails) as accounts,
             (select count(*)::int from workspaces) as workspaces,
             (select count(*)::int from polling_job_status) as jobs`;
    expect(counts).toEqual({ accounts: 80, workspaces: 4, jobs: 1 });
    const [job] = await db.sql`select warnings from polling_job_status`;
    expect(job.warnings).toEqual([]);
  });

  it('refuses start-execution inputs of the wrong shape at once, saying what is accepted', async () => {
    const cases: [unknown, string][] = [
      [[], 'got a list'],
      ['Acme Outbound', 'got string "Acme Outbound"'],
      [42, 'got number 42'],
      [{ workspaces: 'Acme Outbound' }, '"workspaces" must be a list of workspace names'],
      [{ workspaces: [] }, '"workspaces" is empty'],
      [{ workspaces: [1, 2] }, '"workspaces" must be a list of workspace names'],
      [{ workspaces: [''] }, '"workspaces" must be a list of workspace names'],
      [{ workspace: ['typo'] }, 'unknown field "workspace"'],
      [{ workspaces: ['No Such Workspace'] }, 'unknown workspace "No Such Workspace"'],
    ];
    const [before] = await db.sql`select count(*)::int as n from polling_job_status`;
    for (const [input, expected] of cases) {
      const result = await runLocally(deps, input);
      expect(result.status, JSON.stringify(input)).toBe('FAILED');
      const { errorMessage } = JSON.parse(result.cause!);
      expect(errorMessage, JSON.stringify(input)).toContain(expected);
      if (result.error === 'InvalidInputError')
        expect(errorMessage).toContain('Execution input must be {} (every active workspace) or {"workspaces": ["Workspace name", ...]}');
      expect(result.observed.calls.size).toBe(0);
    }
    const [after] = await db.sql`select count(*)::int as n from polling_job_status`;
    expect(after.n).toBe(before.n);
  });
});
