import postgres from 'postgres';
import { SETTINGS } from '../config/settings';
import { DatabaseConfigError, DatabaseUnavailableError } from '../errors';

export type Sql = postgres.Sql<Record<string, never>>;

/** The shape AWS Secrets Manager uses for RDS credentials (and what our database secret holds). */
export interface DatabaseSecret {
  host: string;
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
  /** Transaction poolers (Supabase on 6543, PgBouncer) reject prepared statements. */
  prepare?: boolean;
  max?: number;
  idleTimeoutSeconds?: number;
  connectTimeoutSeconds?: number;
  applicationName?: string;
}

/** One round trip, so a wrong URL or a down server is reported where it is configured, with a cause a person can act on. */
export async function checkConnection(sql: Sql, where: string): Promise<void> {
  try {
    await sql`select 1`;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    throw new DatabaseUnavailableError(`Cannot use Postgres at ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}.`, { cause: error });
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
  return postgres({
    host: target.host,
    port: target.port,
    database: target.database,
    username: target.username,
    password: target.password,
    ssl: sslOption(ssl),
    prepare: options.prepare ?? false,
    max: options.max ?? SETTINGS.databasePoolMax.default,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'sender-sync' },
    // bigint ids come back as numbers: EmailBison ids fit in 2^53.
    // int8 (ids, count(*)) as numbers: every value sender-sync stores fits in 2^53.
    types: { int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
  }) as unknown as Sql;
}

interface Target {
  host: string;
  port: number;
  database: string;
  username: string;
  password?: string;
}

function connectionTarget(options: DatabaseOptions): Target {
  if (options.secret) return fromSecret(options.secret);
  if (options.url) return fromUrl(options.url);
  throw new DatabaseConfigError('No database configured: set DATABASE_URL or DATABASE_SECRET_ARN.');
}

function fromSecret(secret: DatabaseSecret): Target {
  const missing = (['host', 'username', 'password'] as const).filter((key) => !secret[key]);
  if (missing.length > 0) {
    throw new DatabaseConfigError(`The database secret lacks ${missing.join(', ')} (expected {host, port, username, password, dbname}).`);
  }
  return {
    host: secret.host,
    port: Number(secret.port ?? 5432),
    database: secret.dbname ?? secret.database ?? 'postgres',
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

function sslOption(mode: SslMode): postgres.Options<Record<string, never>>['ssl'] {
  if (mode === 'disable') return false;
  if (mode === 'verify-full') return 'verify-full';
  return 'require';
}

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
