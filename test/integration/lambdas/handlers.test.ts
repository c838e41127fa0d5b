import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { createTestDatabase } from '../../helpers/database';
import { storedAccounts, truthAsStored } from '../../helpers/world';

/*
 * The Lambda handlers as deployed: configuration from the environment, credentials
 * and keys from Secrets Manager (mocked at the SDK boundary), a real Postgres and the
 * simulated EmailBison.
 */
const db = await createTestDatabase();
const DB_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf';
const KEYS_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/api-keys-GhIjKl';
const WS = 'Acme Outbound';
let sim: EmailBisonSim;
const sm = mockClient(SecretsManagerClient);

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'seed-2025' });
  const url = new URL(db.url);
  sm.on(GetSecretValueCommand, { SecretId: DB_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({
      host: url.hostname,
      port: Number(url.port),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password) || 'trust-auth-ignores-this',
      dbname: db.name,
    }),
  });
  const keys = Object.fromEntries(sim.workspaces().map((w) => [w.name, w.apiKey]));
  sm.on(GetSecretValueCommand, { SecretId: KEYS_SECRET_ARN }).resolves({ SecretString: JSON.stringify(keys) });
  await upsertWorkspace(db.sql, { name: WS, baseUrl: sim.url, apiKeyRef: `aws-sm:${KEYS_SECRET_ARN}#${WS}` });
  vi.stubEnv('DATABASE_SECRET_ARN', DB_SECRET_ARN);
  vi.stubEnv('DATABASE_URL', '');
  vi.stubEnv('DATABASE_SSL', 'disable');
  vi.stubEnv('API_KEYS_SECRET_ARN', KEYS_SECRET_ARN);
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('LOG_LEVEL', 'ERROR');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await sim.close();
});

describe('the Lambda handlers', () => {
  it('start, sync and record a job with credentials from Secrets Manager', async () => {
    const startJob = (await import('../../../lambdas/start-job/handler')).handler;
    const syncWorkspace = (await import('../../../lambdas/sync-workspace/handler')).handler;
    const finalizeJob = (await import('../../../lambdas/finalize-job/handler')).handler;
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:sender-sync:run-1';
    const started = await startJob({ input: {}, executionArn: arn });
    const [registered] = await db.sql<{ id: number }[]>`select id from workspaces where name = ${WS}`;
    expect(started).toEqual({
      status: 'started',
      jobId: expect.any(String),
      workspaceCount: 1,
      workspaceIds: [registered.id],
      mode: 'sync',
      day: null,
    });
    if (started.status !== 'started') return;
    const result = await syncWorkspace({ jobId: started.jobId, workspace: { id: started.workspaceIds[0] }, cursor: null });
    expect(result).toMatchObject({ done: true, cursor: null, accountsSynced: 187, workspace: { id: registered.id, name: WS } });
    const summary = await finalizeJob({ jobId: started.jobId, executionArn: arn });
    expect(summary).toMatchObject({ status: 'completed', totalAccountsSynced: 187 });
    expect(await storedAccounts(db.sql, WS)).toEqual(truthAsStored(sim, WS));
    const [job] = await db.sql`select execution_arn, trigger_source from polling_job_status where id = ${started.jobId}`;
    expect(job).toEqual({ execution_arn: arn, trigger_source: 'step-functions' });
  });

  it('rejects a malformed execution input with an InvalidInputError a person can read', async () => {
    const startJob = (await import('../../../lambdas/start-job/handler')).handler;
    await expect(startJob({ input: { workspaces: 'Acme Outbound' } })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining('"workspaces" must be a list of workspace names'),
    });
  });

  it('marks the job failed on an ABORTED status-change event from EventBridge', async () => {
    const startJob = (await import('../../../lambdas/start-job/handler')).handler;
    const markFailed = (await import('../../../lambdas/mark-failed/handler')).handler;
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:sender-sync:run-2';
    const started = await startJob({ input: {}, executionArn: arn });
    const result = await markFailed({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { executionArn: arn, status: 'ABORTED', error: null, cause: null },
    });
    expect(result).toMatchObject({ recorded: true, status: 'failed' });
    const [job] =
      await db.sql`select status, error_message from polling_job_status where id = ${started.status === 'started' ? started.jobId : ''}`;
    expect(job).toEqual({ status: 'failed', error_message: 'The execution ended ABORTED.' });
  });
});
