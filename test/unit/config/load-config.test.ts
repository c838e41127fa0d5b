import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambdas/config/load-config';

describe('loadConfig', () => {
  it('gives every default on an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      jobName: 'sender-emails-sync',
      pageConcurrency: 3,
      syncBudgetSeconds: 600,
      runTimeoutMinutes: 120,
      databasePrepare: false,
      batchSize: 2000,
      emailbisonPagination: 'auto',
      emailbisonMaxRps: 3,
    });
  });

  it('reports every invalid key in one error, without echoing secrets', () => {
    const error = (() => {
      try {
        loadConfig({ PAGE_CONCURRENCY: 'lots', SYNC_BUDGET_SECONDS: '5000', DATABASE_SSL: 'maybe', DATABASE_PREPARE: 'perhaps' });
      } catch (e) {
        return e as Error & { code: string };
      }
    })();
    expect(error?.code).toBe('SS_CONFIG_INVALID');
    expect(error?.message).toContain('PAGE_CONCURRENCY must be an integer from 1 to 20 (got "lots")');
    expect(error?.message).toContain('SYNC_BUDGET_SECONDS must be an integer from 60 to 780');
    expect(error?.message).toContain('DATABASE_SSL must be one of require, verify-full, disable');
    expect(error?.message).toContain('DATABASE_PREPARE must be true or false');
  });
});
