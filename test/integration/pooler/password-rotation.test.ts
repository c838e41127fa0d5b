import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REAUTHENTICATED_MESSAGE } from '../../../lambdas/db/part';
import { createLambdaRuntime } from '../../../lambdas/runtime/production';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { atFileEnd } from '../../helpers/cleanup';
import { adminUrl, createTestDatabase, type TestDatabase } from '../../helpers/database';
import { runLocally } from '../../helpers/local-run';
import { PGBOUNCER_MISSING, type PgBouncer, serverOf, startPgBouncer } from '../../helpers/pgbouncer';

/*
 * The database password rotates while a run goes on (`ALTER ROLE ... PASSWORD`, and the
 * secret in Secrets Manager updated, as RDS's rotation does). The test Postgres trusts
 * every local login, so the password is checked where Supabase checks it: at the pooler
 * (PgBouncer reading pg_shadow as each client logs in). The Lambda runtime reads the
 * secret through Secrets Manager (aws-sdk-client-mock) and the run is the real state
 * machine with the real task code. Mid-run the pooler restarts, so every connection must
 * log in again, with the password the warm container cached: refused (28P01), the cached
 * secret dropped, read afresh, in.
 */
const DB_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/rotating-AbCdEf';
const TOTAL = 4228;

describe.skipIf(PGBOUNCER_MISSING !== undefined)(`a password rotated mid-run${PGBOUNCER_MISSING ? ` (${PGBOUNCER_MISSING})` : ''}`, () => {
  const role = `ss_rotating_${randomBytes(4).toString('hex')}`;
  const passwords = { current: `first-${randomBytes(8).toString('hex')}`, previous: '' };
  const sm = mockClient(SecretsManagerClient);
  let db: TestDatabase;
  let bouncer: PgBouncer;
  let sim: EmailBisonSim;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });

  beforeAll(async () => {
    db = await createTestDatabase();
    // Superuser: the role stands in for the stack's database user, whatever it may touch.
    await admin.unsafe(`create role ${role} login superuser password '${passwords.current}'`);
    atFileEnd(async () => {
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where usename = ${role}`;
      await admin.unsafe(`drop role if exists ${role}`);
      await admin.end();
    });
    bouncer = await startPgBouncer({ server: serverOf(adminUrl()), auth: 'password', users: [] });
    sim = await startEmailBisonSim({ scenario: 'seed-2025' });
    for (const w of sim.workspaces()) {
      await upsertWorkspace(db.sql, { name: w.name, baseUrl: sim.url, apiKeyRef: `env:KEY_${w.id}`, emailbisonWorkspaceId: w.id });
    }
    sm.on(GetSecretValueCommand, { SecretId: DB_SECRET_ARN }).callsFake(async () => ({
      SecretString: JSON.stringify({ username: role, password: passwords.current }),
    }));
  });
  afterAll(async () => {
    sm.restore();
    await sim?.close();
  });

  it('completes, with one logged re-authentication and one fresh read of the secret', async () => {
    const env: Record<string, string> = {
      DATABASE_SECRET_ARN: DB_SECRET_ARN,
      DATABASE_HOST: '127.0.0.1',
      DATABASE_PORT: String(bouncer.port),
      DATABASE_NAME: db.name,
      DATABASE_SSL: 'disable',
      DATABASE_POOL_MODE: 'transaction',
      AWS_REGION: 'eu-west-1',
      SECRETS_CACHE_TTL_SECONDS: '300',
      EMAILBISON_MAX_RPS: '0',
      POWERTOOLS_METRICS_DISABLED: 'true',
      LOG_LEVEL: 'INFO',
      ...Object.fromEntries(sim.workspaces().map((w) => [`KEY_${w.id}`, w.apiKey])),
    };
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    const runtime = createLambdaRuntime(env, { part: 'sync' });
    const logged: unknown[][] = [];
    for (const level of ['info', 'warn', 'error'] as const) {
      vi.spyOn(runtime.logger, level).mockImplementation((...args: unknown[]) => {
        logged.push(args);
      });
    }
    const deps = await runtime.deps();

    // One workspace's sync at a time, so the rotation lands between statements, not inside one.
    let queue: Promise<unknown> = Promise.resolve();
    let synced = 0;
    const result = await runLocally(
      deps,
      {},
      {
        syncWorkspace: (event) => {
          const call = queue.then(async () => {
            if (synced === 3) {
              passwords.previous = passwords.current;
              passwords.current = `second-${randomBytes(8).toString('hex')}`;
              await admin.unsafe(`alter role ${role} password '${passwords.current}'`);
              await bouncer.restart();
            }
            synced += 1;
            const { createTaskHandlers } = await import('../../../lambdas/tasks');
            return createTaskHandlers(deps).syncWorkspace(event);
          });
          queue = call.catch(() => {});
          return call;
        },
      },
    );
    await deps.sql.end({ timeout: 1 });

    expect(result.status).toBe('SUCCEEDED');
    const [job] = await db.sql`select status, total_accounts_synced from polling_job_status order by started_at desc limit 1`;
    expect(job).toEqual({ status: 'completed', total_accounts_synced: TOTAL });
    expect(synced).toBe(26);
    const reauthentications = logged.filter(([message]) => message === REAUTHENTICATED_MESSAGE);
    expect(reauthentications).toHaveLength(1);
    // The secret was read when the container started and once after the refusal: the cache's TTL did the rest.
    expect(sm.commandCalls(GetSecretValueCommand, { SecretId: DB_SECRET_ARN })).toHaveLength(2);
    const everything = JSON.stringify(logged);
    expect(everything).not.toContain(passwords.previous);
    expect(everything).not.toContain(passwords.current);
    expect(bouncer.log()).toMatch(/password authentication failed|SASL authentication failed|authentication failed/i);
  }, 120_000);
});
