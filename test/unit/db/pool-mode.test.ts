import { describe, expect, it } from 'vitest';
import { poolModeOptions, resolvePoolMode } from '../../../lambdas/db/pool-mode';

describe('DATABASE_POOL_MODE=auto', () => {
  it('takes port 6543 and hosts that name a pooler for a transaction pooler', () => {
    expect(resolvePoolMode('auto', 'aws-0-eu-west-1.pooler.supabase.com', 6543)).toBe('transaction');
    expect(resolvePoolMode('auto', 'aws-0-eu-west-1.pooler.supabase.com', 5432)).toBe('transaction');
    expect(resolvePoolMode(undefined, 'db.internal', 6543)).toBe('transaction');
    expect(resolvePoolMode('auto', 'pgbouncer.internal', 5432)).toBe('transaction');
    expect(resolvePoolMode('auto', 'sync.proxy-abc123.eu-west-1.rds.amazonaws.com', 5432)).toBe('transaction');
  });

  it('takes anything else for Postgres itself (session)', () => {
    expect(resolvePoolMode('auto', 'mydb.abc123.eu-west-1.rds.amazonaws.com', 5432)).toBe('session');
    expect(resolvePoolMode('auto', '127.0.0.1', 5432)).toBe('session');
    expect(resolvePoolMode(undefined, 'db.abcdefgh.supabase.co', 5432)).toBe('session');
  });

  it('gives way to an explicit mode', () => {
    expect(resolvePoolMode('session', 'aws-0-eu-west-1.pooler.supabase.com', 6543)).toBe('session');
    expect(resolvePoolMode('transaction', '127.0.0.1', 5432)).toBe('transaction');
  });
});

describe('postgres.js options of each mode', () => {
  it('sends one query at a time and prepares nothing in transaction mode, whatever DATABASE_PREPARE says', () => {
    expect(poolModeOptions('transaction', true)).toEqual({ prepare: false, max_pipeline: 0 });
    expect(poolModeOptions('session', true)).toEqual({ prepare: true });
    expect(poolModeOptions('session', undefined)).toEqual({ prepare: false });
  });
});
