import type { DatabasePoolModeSetting } from '../config/settings';

export type PoolMode = 'session' | 'transaction';

/**
 * Whether Postgres is reached through a transaction pooler, where each transaction (or
 * each statement outside one) may run on a different server connection: Supabase's
 * port 6543, PgBouncer or RDS Proxy in transaction mode. `auto` takes port 6543 or a
 * host that names a pooler (x.pooler.supabase.com, pgbouncer.internal, x.proxy-y.rds.amazonaws.com)
 * for one. That includes Supabase's session pooler (its pooler host on port 5432): treating a
 * session pooler as a transaction pooler costs only pipelining, the reverse costs hangs, so
 * `auto` errs that way and DATABASE_POOL_MODE=session says otherwise.
 */
export function resolvePoolMode(setting: DatabasePoolModeSetting | undefined, host: string, port: number): PoolMode {
  if (setting === 'session' || setting === 'transaction') return setting;
  if (port === 6543) return 'transaction';
  return /pooler|pgbouncer|proxy/i.test(host) ? 'transaction' : 'session';
}

/**
 * postgres.js options for each mode. In transaction mode a connection carries one query
 * at a time: postgres.js otherwise pipelines (sends the next query before the previous
 * answer), and Supavisor in transaction mode drops or mismatches pipelined replies
 * (porsager/postgres#970, supabase/supabase#50358, supavisor#1172). `max_pipeline: 0`
 * marks a connection full once it has a query (`max_pipeline: 1` still allows two:
 * the one running and one queued behind it). No prepared statements: a transaction
 * pooler may not run the Execute on the server connection that saw the Parse.
 */
export function poolModeOptions(mode: PoolMode, prepare: boolean | undefined): { prepare: boolean; max_pipeline?: number } {
  if (mode === 'transaction') return { prepare: false, max_pipeline: 0 };
  return { prepare: prepare ?? false };
}
