import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSql } from '../../lambdas/db/client';
import { describeError } from '../../lambdas/errors';
import type { TaskDeps, TaskLog } from '../../lambdas/runtime/deps';
import { deliveryPath, workspaceToken } from '../../lambdas/webhooks/token';
import type { ChangesMessage } from '../../lambdas/webhooks/publish';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { cli } from '../helpers/cli';
import { adminUrl, createTestDatabase } from '../helpers/database';
import { historyText, runLocally } from '../helpers/local-run';
import { createWorld, type World } from '../helpers/world';
import { createSettledReceiver } from '../helpers/webhook-intake';

/*
 * Sentinel secrets through a full run: an API key and a database password that must
 * appear in no state input or output, log line, job row, warning, error or CLI output.
 */
const db = await createTestDatabase();
const suffix = randomBytes(4).toString('hex');
const SENTINEL_KEY = `SENTINEL-API-KEY-${suffix}-0c7a9e`;
const SENTINEL_PASSWORD = `SENTINEL-DB-PASSWORD-${suffix}-9d2f`;
const SENTINEL_WEBHOOK_TOKEN = `SENTINEL-WEBHOOK-TOKEN-${suffix}-4b1e`;
const ROLE = `ss_sentinel_${suffix}`;
/** Workspace tokens derived from the sentinel master secret: secrets too. */
const derivedTokens: string[] = [];
const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
let world: World;
let sentinelUrl: string;
const logLines: string[] = [];

function sentinels(): string[] {
  return [SENTINEL_KEY, SENTINEL_PASSWORD, SENTINEL_WEBHOOK_TOKEN, ...derivedTokens, ...world.sim.workspaces().map((w) => w.apiKey)];
}

const checked = { places: 0, bytes: 0, leaks: 0 };

function expectNoSecret(text: string, where: string) {
  checked.places += 1;
  checked.bytes += text.length;
  for (const secret of sentinels()) {
    if (text.includes(secret)) checked.leaks += 1;
    expect(text.includes(secret), `${where} contains a secret (${secret.slice(0, 12)}…)`).toBe(false);
  }
}

const capturingLog: TaskLog = {
  info: (message, fields) => void logLines.push(`INFO ${message} ${JSON.stringify(fields ?? {})}`),
  warn: (message, fields) => void logLines.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => void logLines.push(`ERROR ${message} ${JSON.stringify(fields ?? {})}`),
  setContext: (fields) => void logLines.push(`CONTEXT ${JSON.stringify(fields)}`),
};

beforeAll(async () => {
  // A role whose password is the sentinel: the run connects with it.
  await admin.unsafe(`create role ${ROLE} login superuser password '${SENTINEL_PASSWORD}'`);
  const url = new URL(db.url);
  url.username = ROLE;
  url.password = SENTINEL_PASSWORD;
  sentinelUrl = url.toString();
  world = await createWorld(db.sql, { only: ['Acme Outbound', 'Kestrel Ventures', 'Juniper Health'] });
  // One more workspace whose stored key is the sentinel: EmailBison rejects it.
  writeFileSync(world.secretsFile, JSON.stringify({ ...JSON.parse(readFileSync(world.secretsFile, 'utf8')), 'Sentinel Co': SENTINEL_KEY }));
  await upsertWorkspace(db.sql, { name: 'Sentinel Co', baseUrl: world.sim.url, apiKeyRef: 'file:Sentinel Co' });
});

afterAll(async () => {
  console.log(
    `security: ${sentinels().length} secrets (API keys, a database password, a webhook token) looked for in ${checked.places} outputs (${checked.bytes} bytes: history, logs, job rows, errors, CLI), leaks ${checked.leaks}`,
  );
  await world.sim.close();
  await admin.unsafe(`drop role if exists ${ROLE}`).catch(() => {});
  await admin.end();
});

describe('secrets never leak', () => {
  it('appear in no state input or output, log line, job row, warning or error of a full local run', async () => {
    const sql = createSql({ url: sentinelUrl, ssl: 'disable', max: 3 });
    try {
      const deps: TaskDeps = { ...world.deps, sql, log: capturingLog };
      world.sim.setFaults('Juniper Health', { failFromPage: { page: 3, status: 503 } });
      const result = await runLocally({ ...deps, config: { ...deps.config, maxAttempts: 2 } }, {});
      world.sim.clearFaults();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toMatchObject({ status: 'partial', workspacesFailed: 2 });
      expectNoSecret(historyText(result), 'the execution history');
      expect(logLines.length).toBeGreaterThan(5);
      expectNoSecret(logLines.join('\n'), 'the log');
      const tables = await sql`
        select (select json_agg(j) from polling_job_status j)::text as jobs,
               (select json_agg(w) from polling_job_workspaces w)::text as workspaces,
               (select json_agg(r) from workspaces r)::text as registry`;
      expect(tables[0].workspaces).toContain('RejectedApiKeyError');
      expectNoSecret(JSON.stringify(tables), 'the job tables');
    } finally {
      await sql.end();
    }
  });

  it('appear in no CLI output, on success or on error', async () => {
    const env = { DATABASE_URL: sentinelUrl, SENTINEL_PROBE: '1', SENDER_SYNC_SECRETS_FILE: world.secretsFile };
    await db.sql`update workspaces set base_url = ${world.sim.url}`;
    const outputs = await Promise.all([
      cli(['status'], env),
      cli(['status', '--json'], env),
      cli(['check-keys'], env),
      cli(['check-keys', '--json'], env),
      cli(['workspaces', 'list', '--json'], env),
      cli(['accounts'], env),
      cli(['missing', '--json'], env),
    ]);
    expect(outputs[2].stdout).toMatch(/Sentinel Co\s+REJECTED/);
    for (const output of outputs) expectNoSecret(output.stdout + output.stderr, 'CLI output');
    const url = new URL(sentinelUrl);
    url.port = '1';
    const unreachable = await cli(['status'], { DATABASE_URL: url.toString() });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('sender-sync: DatabaseUnavailableError: Cannot use Postgres at 127.0.0.1:1/');
    expect(unreachable.stderr).toContain('ECONNREFUSED');
    expectNoSecret(unreachable.stdout + unreachable.stderr, 'CLI error output');
  });

  it('appear in no webhook receiver answer, log line, table or published message', async () => {
    const published: ChangesMessage[] = [];
    const receive = createSettledReceiver(db.sql, {
      webhookSecret: SENTINEL_WEBHOOK_TOKEN,
      log: capturingLog,
      publisher: { publish: async (message) => void published.push(message) },
      timing: { gatherSeconds: 0 },
    });
    const [target] = await db.sql<{ workspace_id: number; emailbison_id: number; email: string; emailbison_workspace_id: number }[]>`
      select se.workspace_id, se.emailbison_id, se.email, w.emailbison_workspace_id::int as emailbison_workspace_id
      from sender_emails se join workspaces w on w.id = se.workspace_id
      where se.status = 'Connected' and se.deleted_at is null and w.emailbison_workspace_id is not null limit 1
    `;
    const pathOf = (workspaceId: number) => {
      const delivery = { workspaceId, emailbisonWorkspaceId: target.emailbison_workspace_id };
      derivedTokens.push(workspaceToken(SENTINEL_WEBHOOK_TOKEN, delivery));
      return deliveryPath(SENTINEL_WEBHOOK_TOKEN, delivery);
    };
    const body = (type: string, status: string) =>
      JSON.stringify({
        event: { type, workspace_id: target.emailbison_workspace_id },
        data: { sender_email: { id: target.emailbison_id, email: target.email, status } },
      });
    const answers = [
      await receive({ method: 'POST', path: pathOf(target.workspace_id), body: body('EMAIL_ACCOUNT_DISCONNECTED', 'Not connected') }),
      await receive({ method: 'POST', path: pathOf(target.workspace_id), body: '{not json' }),
      await receive({ method: 'POST', path: `${pathOf(target.workspace_id)}x`, body: '{}' }),
      await receive({ method: 'POST', path: pathOf(999999), body: body('EMAIL_ACCOUNT_REMOVED', 'x') }),
    ];
    // The unknown workspace id is accepted by the receiver (no database) and refused by the applier.
    expect(answers.map((a) => [a.status, a.applied])).toEqual([
      [200, 'applied'],
      [400, undefined],
      [404, undefined],
      [200, 'refused'],
    ]);
    expect(published).toHaveLength(1);
    expectNoSecret(JSON.stringify(answers), 'the webhook answers');
    expectNoSecret(JSON.stringify(published), 'the published changes');
    expectNoSecret(logLines.join('\n'), 'the log');
    const tables = await db.sql`
      select (select json_agg(c) from sender_email_changes c)::text as changes,
             (select json_agg(p) from webhook_publish_state p)::text as publish_state,
             (select json_agg(e) from sender_emails e)::text as accounts`;
    expect(tables[0].changes).toContain('Not connected');
    expectNoSecret(JSON.stringify(tables), 'the account and change tables');
  });

  it('appear in no error from a database that refuses the connection', async () => {
    const url = new URL(sentinelUrl);
    url.pathname = '/no_such_database_here';
    const sql = createSql({ url: url.toString(), ssl: 'disable', max: 1 });
    const error = await sql`select 1`.catch((e) => e);
    await sql.end();
    expect(describeError(error)).toMatch(/no_such_database_here/);
    expectNoSecret(describeError(error), 'the database error');
    expectNoSecret(JSON.stringify(error), 'the serialized database error');
  });

  it('appear in no Lambda log line (Powertools JSON logs) when credentials come from Secrets Manager', async () => {
    const sm = mockClient(SecretsManagerClient);
    const dbArn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-${suffix}`;
    const keysArn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys-${suffix}`;
    const url = new URL(db.url);
    sm.on(GetSecretValueCommand, { SecretId: dbArn }).resolves({
      SecretString: JSON.stringify({
        host: url.hostname,
        port: Number(url.port),
        username: ROLE,
        password: SENTINEL_PASSWORD,
        dbname: db.name,
      }),
    });
    sm.on(GetSecretValueCommand, { SecretId: keysArn }).resolves({ SecretString: JSON.stringify({ 'Sentinel Co': SENTINEL_KEY }) });
    await db.sql`update workspaces set api_key_ref = ${`aws-sm:${keysArn}#Sentinel Co`} where name = 'Sentinel Co'`;
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    vi.stubEnv('DATABASE_SECRET_ARN', dbArn);
    vi.stubEnv('DATABASE_URL', '');
    vi.stubEnv('DATABASE_SSL', 'disable');
    vi.stubEnv('LOG_LEVEL', 'DEBUG');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    try {
      const { handler: startJob } = await import('../../lambdas/start-job/handler');
      const { handler: syncWorkspace } = await import('../../lambdas/sync-workspace/handler');
      const { handler: markFailed } = await import('../../lambdas/mark-failed/handler');
      const started = await startJob({
        input: { workspaces: ['Sentinel Co'] },
        executionArn: `arn:aws:states:eu-west-1:1:execution:x:${suffix}`,
      });
      if (started.status !== 'started') throw new Error('not started');
      const error = await syncWorkspace({ jobId: started.jobId, workspace: { id: started.workspaceIds[0] } }).catch((e) => e);
      expect(error.name).toBe('RejectedApiKeyError');
      await markFailed({
        scope: 'workspace',
        jobId: started.jobId,
        workspace: { id: started.workspaceIds[0] },
        error: { Error: error.name, Cause: JSON.stringify({ errorType: error.name, errorMessage: error.message }) },
      });
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
      vi.unstubAllEnvs();
    }
    const logs = written.join('');
    expect(logs).toContain('workspace sync attempt failed');
    expect(logs).toContain('"workspace":"Sentinel Co"');
    expectNoSecret(logs, 'the Lambda logs');
  });
});
