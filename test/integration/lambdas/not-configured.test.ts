import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PLACEHOLDER_DATABASE_SECRET } from '../../../lambdas/db/placeholder';
import { ERROR_CATALOGUE } from '../../../lambdas/errors';

/*
 * A default deploy nobody has configured yet: the database secret holds what the stack
 * wrote into it (a placeholder host and user, a generated password). The Lambdas, as
 * deployed, read it from Secrets Manager (mocked at the SDK boundary) and must end at
 * once with NotConfiguredError instead of trying to resolve the host REPLACE_ME.
 */
const DB_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf';
const sm = mockClient(SecretsManagerClient);

beforeAll(() => {
  sm.on(GetSecretValueCommand, { SecretId: DB_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({ ...PLACEHOLDER_DATABASE_SECRET, password: 'GeneratedBySecretsManager0123456' }),
  });
  vi.stubEnv('DATABASE_SECRET_ARN', DB_SECRET_ARN);
  vi.stubEnv('DATABASE_URL', '');
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('LOG_LEVEL', 'ERROR');
});
afterAll(() => {
  vi.unstubAllEnvs();
  sm.restore();
});

const notConfigured = {
  name: 'NotConfiguredError',
  code: 'SS_NOT_CONFIGURED',
  retryable: false,
  message: expect.stringMatching(
    new RegExp(`^The database secret ${DB_SECRET_ARN} still holds the placeholder .*Fill in host, port, username, password and dbname`),
  ),
};

describe('a deploy whose database secret holds the placeholder', () => {
  it('is an error the state machine never retries', () => {
    expect(ERROR_CATALOGUE.NotConfiguredError.retried).toBe(false);
  });

  it('ends Start job with NotConfiguredError, before any connection', async () => {
    const startJob = (await import('../../../lambdas/start-job/handler')).handler;
    const error = await startJob({ input: {}, executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:sender-sync:run-1' }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject(notConfigured);
    expect((error as Error).message).not.toContain('GeneratedBySecretsManager');
  });

  it('ends mark-failed with NotConfiguredError, for a status-change event and a run failure alike', async () => {
    const markFailed = (await import('../../../lambdas/mark-failed/handler')).handler;
    await expect(
      markFailed({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: { executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:sender-sync:run-2', status: 'ABORTED' },
      }),
    ).rejects.toMatchObject(notConfigured);
    await expect(markFailed({ scope: 'run', error: { Error: 'X' } })).rejects.toMatchObject(notConfigured);
  });

  it('lets the migration trigger succeed without migrating, saying why', async () => {
    const migrate = (await import('../../../lambdas/migrate/handler')).handler;
    const result = await migrate({});
    expect(result).toEqual({ applied: [], alreadyApplied: 0, skipped: expect.stringContaining('NotConfiguredError: The database secret') });
  });
});
