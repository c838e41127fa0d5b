import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import postgres from 'postgres';
import { type DatabasePoolModeSetting, SETTINGS } from '../config/settings';
import { DatabaseConfigError, DatabaseUnavailableError } from '../errors';
import { poolModeOptions, resolvePoolMode, type PoolMode } from './pool-mode';

export type Sql = postgres.Sql<Record<string, never>>;

/**
 * The shape AWS Secrets Manager uses for RDS credentials (and what our database secret
 * holds). An RDS-managed master secret holds only username and password: its host, port
 * and database come from `DatabaseOptions.target` (DATABASE_HOST, _PORT, _NAME).
 */
export interface DatabaseSecret {
  host?: string;
  port?: number | string;
  username: string;
  password: string;
  dbname?: string;
  database?: string;
}

export type SslMode = 'require' | 'verify-full' | 'disable';

export interface DatabaseOptions {
  url?: string;
  secret?: DatabaseSecret;
  /** Default `require`; loopback hosts default to `disable` (no network to protect). */
  ssl?: SslMode;
  /** PEM of the CAs that verify the server's certificate in `verify-full` (default: Node's root store plus NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** Where Postgres is, over what the secret says (an RDS-managed secret says nothing of it). */
  target?: { host?: string; port?: number; database?: string };
  /** Transaction poolers (Supabase on 6543, PgBouncer) reject prepared statements: ignored in transaction mode. */
  prepare?: boolean;
  /** Default auto (lambdas/db/pool-mode.ts). */
  poolMode?: DatabasePoolModeSetting;
  max?: number;
  idleTimeoutSeconds?: number;
  connectTimeoutSeconds?: number;
  /** Set in each transaction (`SET LOCAL`), never at startup, where poolers refuse them; 0 or absent: the server's. */
  timeouts?: TransactionTimeouts;
  applicationName?: string;
  /** A password that can change (a rotated secret): read whenever a connection opens, over the secret's or the URL's. */
  password?: PasswordSource;
}

export interface TransactionTimeouts {
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
}

/**
 * Where a rotating password comes from. `read` is called as each connection opens (a
 * cached secret, so cheap); when the server answers 28P01 (password authentication
 * failed), `refresh` drops the cached one and the same connection opens again, once,
 * with what `read` then returns; `refreshed` is told when that retry got in.
 */
export interface PasswordSource {
  read(): Promise<string>;
  refresh(): void;
  refreshed?(): void;
}

/** One round trip, so a wrong URL or a down server is reported where it is configured, with a cause a person can act on. */
export async function checkConnection(sql: Sql, where: string): Promise<void> {
  try {
    await sql`select 1`;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    throw new DatabaseUnavailableError(
      `Cannot use Postgres at ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}.`,
      { cause: error },
    );
  }
}

/** host:port/database of a URL, without credentials. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return redactDatabaseUrl(url);
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function createSql(options: DatabaseOptions): Sql {
  const target = connectionTarget(options);
  const ssl = options.ssl ?? (isLocal(target.host) ? 'disable' : 'require');
  const mode = resolvePoolMode(options.poolMode, target.host, target.port);
  const passwordSource = options.password;
  const sql = postgres({
    host: target.host,
    port: target.port,
    database: target.database,
    username: target.username,
    password: passwordSource ? () => passwordSource.read() : target.password,
    ssl: sslOptions(ssl, target.host, options.ca),
    ...poolModeOptions(mode, options.prepare),
    max: options.max ?? SETTINGS.databasePoolMax.default,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    connect_timeout: options.connectTimeoutSeconds ?? SETTINGS.databaseConnectTimeoutSeconds.default,
    onnotice: () => {},
    // application_name is the one startup parameter every pooler passes on (PgBouncer, Supavisor, RDS Proxy).
    connection: { application_name: options.applicationName ?? 'sender-sync' },
    // Options of patches/postgres+3.4.9.patch: a 28P01 while opening asks for the password again, once.
    ...(passwordSource ? { onauthfailure: () => passwordSource.refresh(), onreauthenticated: () => passwordSource.refreshed?.() } : {}),
    // bigint ids come back as numbers: EmailBison ids fit in 2^53.
    // int8 (ids, count(*)) as numbers: every value sender-sync stores fits in 2^53.
    types: { int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
  } as unknown as postgres.Options<Record<string, postgres.PostgresType>>) as unknown as Sql;
  return withTransactionTimeouts(Object.assign(sql, { poolMode: mode }), options.timeouts);
}

/** The pool mode a client was built for (transaction: one query in flight per connection). */
export function poolModeOf(sql: Sql): PoolMode | undefined {
  return (sql as Sql & { poolMode?: PoolMode }).poolMode;
}

/**
 * Every `sql.begin` first sets its timeouts for that transaction only (`set_config(..., true)`
 * is SET LOCAL): through a transaction pooler a session SET would stay on a server
 * connection other clients then use, and a startup parameter is refused. One statement,
 * with bound parameters (the workaround supabase/supabase#50082 gives for Supavisor).
 */
function withTransactionTimeouts(sql: Sql, timeouts: TransactionTimeouts | undefined): Sql {
  const statementMs = timeouts?.statementTimeoutMs ?? 0;
  const lockMs = timeouts?.lockTimeoutMs ?? 0;
  if (statementMs === 0 && lockMs === 0) return sql;
  const begin = sql.begin.bind(sql) as (options: string, work: (tx: postgres.TransactionSql) => unknown) => Promise<unknown>;
  const timed = (options: unknown, work?: unknown) => {
    const [mode, fn] = (typeof options === 'function' ? ['', options] : [options ?? '', work]) as [string, (tx: unknown) => unknown];
    return begin(mode, async (tx) => {
      await tx`
        select set_config('statement_timeout', ${String(statementMs)}, true),
               set_config('lock_timeout', ${String(lockMs)}, true)
      `;
      return fn(tx);
    });
  };
  return Object.assign(sql, { begin: timed as Sql['begin'] });
}

interface Target {
  host: string;
  port: number;
  database: string;
  username: string;
  password?: string;
}

function connectionTarget(options: DatabaseOptions): Target {
  if (options.secret) return fromSecret(options.secret, options.target ?? {});
  if (options.url) return fromUrl(options.url);
  throw new DatabaseConfigError('No database configured: set DATABASE_URL or DATABASE_SECRET_ARN.');
}

/** The secret's credentials at the configured place: DATABASE_HOST/_PORT/_NAME win over the secret's host/port/dbname. */
export function fromSecret(secret: DatabaseSecret, target: NonNullable<DatabaseOptions['target']> = {}): Target {
  const host = target.host ?? secret.host;
  const missing = [
    ...(host
      ? []
      : ['host (an RDS-managed secret holds only username and password: set DATABASE_HOST, or CDK context sender-sync:databaseHost)']),
    ...(['username', 'password'] as const).filter((key) => !secret[key]),
  ];
  if (!host || missing.length > 0) {
    throw new DatabaseConfigError(`The database secret lacks ${missing.join(', ')} (expected {host, port, username, password, dbname}).`);
  }
  const port = Number(target.port ?? secret.port ?? 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new DatabaseConfigError(`The database port is not a port number (${String(secret.port)}).`);
  return {
    host,
    port,
    database: target.database ?? secret.dbname ?? secret.database ?? 'postgres',
    username: secret.username,
    password: secret.password,
  };
}

function fromUrl(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseConfigError(`DATABASE_URL is not a valid URL (${redactDatabaseUrl(url)}).`);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new DatabaseConfigError(`DATABASE_URL must start with postgres:// (${redactDatabaseUrl(url)}).`);
  }
  return {
    host: decodeURIComponent(parsed.hostname) || parsed.searchParams.get('host') || 'localhost',
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.slice(1)) || 'postgres',
    username: decodeURIComponent(parsed.username) || 'postgres',
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

function isLocal(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('/');
}

/**
 * postgres.js's `ssl`. `require` encrypts without checking who answers (libpq's
 * meaning). `verify-full` checks the chain against `ca` (or Node's roots) and the host
 * name against the certificate, IP hosts included (postgres.js sends no SNI for an IP,
 * and Node would then check the name "localhost").
 */
export function sslOptions(mode: SslMode, host: string, ca?: string): false | 'require' | ConnectionOptions {
  if (mode === 'disable') return false;
  if (mode === 'require') return 'require';
  return {
    rejectUnauthorized: true,
    ...(ca === undefined ? {} : { ca }),
    checkServerIdentity: (_servername, certificate) => checkServerIdentity(host, certificate),
  };
}

/**
 * Supabase's direct host (db.<ref>.supabase.co) has only an IPv6 address, which a Lambda
 * outside a VPC (and in most VPCs) cannot reach; its pooler host has IPv4.
 */
export function isSupabaseDirectHost(host: string): boolean {
  return /^db\.[a-z0-9]+\.supabase\.co$/i.test(host);
}

export const SUPABASE_DIRECT_HOST_ADVICE =
  "Supabase's direct host (db.<ref>.supabase.co) is IPv6-only and unreachable from a Lambda without IPv6 egress; use the pooler host (<region>.pooler.supabase.com, user postgres.<ref>) from the dashboard's Connect panel.";

/** The URL with its password replaced, fit for a log line or an error. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/i, '$1***@');
}

/** sslmode in a URL wins over defaults, as libpq users expect. */
export function sslModeFromUrl(url: string | undefined): SslMode | undefined {
  if (!url) return undefined;
  const match = /[?&]sslmode=([a-z-]+)/i.exec(url);
  if (!match) return undefined;
  const mode = match[1].toLowerCase();
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return 'disable';
  if (mode === 'verify-full' || mode === 'verify-ca') return 'verify-full';
  return 'require';
}
