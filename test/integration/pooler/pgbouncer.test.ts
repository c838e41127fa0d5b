import { writeFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql, type Sql } from '../../../lambdas/db/client';
import { partTimeouts } from '../../../lambdas/db/part';
import { deliveryPath } from '../../../lambdas/webhooks/token';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { tempDir } from '../../helpers/cleanup';
import { cli, startCli } from '../../helpers/cli';
import { adminUrl, createEmptyDatabase, type TestDatabase } from '../../helpers/database';
import { PGBOUNCER_MISSING, type PgBouncer, serverOf, startPgBouncer } from '../../helpers/pgbouncer';
import { createSettledReceiver } from '../../helpers/webhook-intake';

/*
 * sender-sync through a transaction-mode PgBouncer (pool_mode = transaction, the shape of
 * Supabase's port-6543 pooler): every command the CLI runs, in its own process, with
 * DATABASE_URL at the pooler. The pool holds 2 server connections, fewer than a run's
 * clients open, so consecutive transactions of one client land on different server
 * connections: session state (a SET, a session advisory lock) would show up as a failure.
 * The test's own checks read Postgres directly.
 */
const TOTAL = 4228;
const WORKSPACES = 26;

describe.skipIf(PGBOUNCER_MISSING !== undefined)(
  `through a transaction-mode PgBouncer${PGBOUNCER_MISSING ? ` (${PGBOUNCER_MISSING})` : ''}`,
  () => {
    let db: TestDatabase;
    let bouncer: PgBouncer;
    let sim: EmailBisonSim;
    let env: Record<string, string>;
    let direct: Sql;

    beforeAll(async () => {
      db = await createEmptyDatabase();
      direct = db.sql;
      bouncer = await startPgBouncer({ server: serverOf(adminUrl()), poolSize: 2 });
      sim = await startEmailBisonSim({ scenario: 'seed-2025' });
      const secretsFile = path.join(tempDir('ss-bouncer-'), 'secrets.json');
      // DATABASE_POOL_MODE: 127.0.0.1 names no pooler, so auto would take it for Postgres itself.
      env = {
        DATABASE_URL: bouncer.url(db.name),
        DATABASE_POOL_MODE: 'transaction',
        SENDER_SYNC_SECRETS_FILE: secretsFile,
        // The simulator is this test's alone: no need for the polite cap of a shared instance.
        EMAILBISON_MAX_RPS: '0',
      };
    });
    afterAll(async () => {
      await sim?.close();
    });

    const jobs = () => direct<{ id: string; status: string; error_message: string | null }[]>`
    select id, status, error_message from polling_job_status order by started_at
  `;

    it('migrates an empty database', async () => {
      const result = await cli(['migrate'], env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d+ applied, 0 already applied$/);
      const again = await cli(['migrate'], env);
      expect(again.stdout.trimEnd()).toMatch(/^0 applied, \d+ already applied$/);
    });

    it('imports the workspaces', async () => {
      const csv = path.join(tempDir('ss-bouncer-csv-'), 'workspaces.csv');
      const rows = sim.workspaces().map((w) => `"${w.name}",${sim.url},${w.apiKey},${w.id}`);
      writeFileSync(csv, ['name,base_url,api_key,emailbison_workspace_id', ...rows].join('\n'));
      const result = await cli(['workspaces', 'import', csv], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`imported ${WORKSPACES} workspaces`);
    });

    it('runs a full sync with every account', async () => {
      const result = await cli(['run'], env);
      expect(result.stderr).not.toMatch(/unsupported startup parameter|prepared statement|08P01/i);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/status\s+completed/);
      expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(`completed: ${WORKSPACES} of ${WORKSPACES} workspaces, 4,228 accounts`);
      expect(await direct`select count(*)::int as n from sender_emails where deleted_at is null`).toEqual([{ n: TOTAL }]);
    }, 120_000);

    it('reruns writing 0 rows', async () => {
      const result = await cli(['run'], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/status\s+completed/);
      expect(result.stdout).toContain('rows written: 0;');
    }, 120_000);

    it('reads with `status` and `changes`', async () => {
      const status = await cli(['status', '--json'], env);
      expect(status.code).toBe(0);
      const { job, workspaces } = JSON.parse(status.stdout);
      expect(job).toMatchObject({ status: 'completed', total_workspaces: WORKSPACES, total_accounts_synced: TOTAL });
      expect(workspaces).toHaveLength(WORKSPACES);
      const changes = await cli(['changes', '--json'], env);
      expect(changes.code).toBe(0);
      expect(changes.stderr).toContain(`database: 127.0.0.1:${bouncer.port}/${db.name}`);
      expect(JSON.parse(changes.stdout)).toBeTypeOf('object');
    });

    it('refuses a timeout sent at startup, and takes the timeouts sender-sync sets in each transaction', async () => {
      const startup = postgres(bouncer.url(db.name), { max: 1, onnotice: () => {}, connection: { statement_timeout: 1000 } });
      await expect(startup`select 1`).rejects.toThrow(/unsupported startup parameter/);
      await startup.end({ timeout: 1 });
      const sql = createSql({ url: bouncer.url(db.name), poolMode: 'transaction', timeouts: partTimeouts({}, 'sync'), max: 2 });
      try {
        const inside = await sql.begin(
          (tx) => tx<{ statement: string; lock: string; app: string }[]>`
        select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
               current_setting('application_name') as app
      `,
        );
        expect(inside).toEqual([{ statement: '2min', lock: '10s', app: 'sender-sync' }]);
        const impatient = createSql({ url: bouncer.url(db.name), poolMode: 'transaction', timeouts: { statementTimeoutMs: 100 }, max: 1 });
        await expect(impatient.begin((tx) => tx`select pg_sleep(2)`)).rejects.toMatchObject({ code: '57014' });
        await impatient.end({ timeout: 1 });
      } finally {
        await sql.end({ timeout: 1 });
      }
    });

    it('applies webhook deliveries through the pooler (the receiver, then the applier)', async () => {
      const [account] = await direct<{ workspace_id: number; emailbison_id: number; emailbison_workspace_id: number }[]>`
      select s.workspace_id, s.emailbison_id, w.emailbison_workspace_id
      from sender_emails s join workspaces w on w.id = s.workspace_id
      where s.status = 'Connected' order by s.workspace_id, s.emailbison_id limit 1
    `;
      const sql = createSql({ url: bouncer.url(db.name), poolMode: 'transaction', timeouts: partTimeouts({}, 'webhook'), max: 1 });
      try {
        const receive = createSettledReceiver(sql, { webhookSecret: 'bouncer-secret' });
        const deliver = (status: string) =>
          receive({
            method: 'POST',
            path: deliveryPath('bouncer-secret', {
              workspaceId: account.workspace_id,
              emailbisonWorkspaceId: account.emailbison_workspace_id,
            }),
            body: JSON.stringify({
              event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_id: account.emailbison_workspace_id },
              data: { sender_email: { id: account.emailbison_id, status } },
            }),
          });
        const answer = await deliver('Not connected');
        expect(answer.status).toBe(200);
        expect(answer.applied).toBe('applied');
        const [row] = await direct`
        select status from sender_emails where workspace_id = ${account.workspace_id} and emailbison_id = ${account.emailbison_id}
      `;
        expect(row.status).toBe('Not connected');
      } finally {
        await sql.end({ timeout: 1 });
      }
    });

    it('runs one of two concurrent runs; the other exits 4 and changes nothing', async () => {
      sim.setLatency(100);
      try {
        const first = startCli(['run'], env);
        const deadline = Date.now() + 60_000;
        while ((await direct`select 1 from polling_job_status where status = 'running'`).length === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const before = await jobs();
        const second = await cli(['run'], env);
        expect(first.child.exitCode).toBeNull();
        expect(second.code).toBe(4);
        expect(second.stdout).toContain('Another run is in progress');
        expect(await jobs()).toEqual(before);
        const result = await first.result;
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/status\s+completed/);
      } finally {
        sim.setLatency(0);
      }
    }, 180_000);

    it('lets a new run take over after a run is killed (kill -9), marking the dead run failed', async () => {
      sim.setLatency(100);
      let killedJob: string | undefined;
      try {
        const doomed = startCli(['run'], env);
        const deadline = Date.now() + 60_000;
        while (killedJob === undefined && Date.now() < deadline) {
          [{ id: killedJob } = { id: undefined as unknown as string }] = await direct<
            { id: string }[]
          >`select id from polling_job_status where status = 'running'`;
          if (killedJob === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(killedJob).toBeDefined();
        doomed.child.kill('SIGKILL');
        await doomed.result;
      } finally {
        sim.setLatency(0);
      }
      const next = await cli(['run'], env);
      expect(next.stdout).toMatch(/status\s+completed/);
      expect(next.code).toBe(0);
      const [dead] = await direct<{ status: string; error_message: string }[]>`
      select status, error_message from polling_job_status where id = ${killedJob!}
    `;
      expect(dead.status).toBe('failed');
      expect(dead.error_message).toContain('the local run stopped without finishing');
    }, 180_000);

    it('leaves no job running', async () => {
      expect((await jobs()).filter((job) => job.status === 'running')).toEqual([]);
      expect(await direct`select count(*)::int as n from polling_job_workspaces where status = 'running'`).toEqual([{ n: 0 }]);
    });
  },
);
