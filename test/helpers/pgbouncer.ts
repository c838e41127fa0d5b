import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { atFileEnd, tempDir } from './cleanup';

/*
 * A PgBouncer of the test file's own in front of the test Postgres, in transaction mode:
 * the shape of Supabase's port-6543 pooler. Debian's `pgbouncer` package (.ci/run installs
 * it); where it is absent, `PGBOUNCER_MISSING` says so and the tests that need it skip.
 */
/** PGBOUNCER_BIN, when set, is the only one tried (PGBOUNCER_BIN=none shows the skip). */
const CANDIDATES = process.env.PGBOUNCER_BIN
  ? [process.env.PGBOUNCER_BIN]
  : ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

export const PGBOUNCER_BINARY = CANDIDATES.find((file) => file && isExecutable(file));
/** The one line a skipped test shows, or undefined when PgBouncer is here. */
export const PGBOUNCER_MISSING = PGBOUNCER_BINARY
  ? undefined
  : 'PgBouncer is not installed (apt-get install pgbouncer; .ci/run installs it): the tests through a transaction pooler skip';

export interface PgBouncer {
  /** `postgres://user@127.0.0.1:<port>/<database>` through the pooler. */
  url(database: string, user?: string): string;
  port: number;
  log(): string;
  /** Stops it and starts it again on the same port: every client connection is closed and must open (and log in) anew. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Where Postgres is (the test server, from adminDatabaseUrl). */
  server: { host: string; port: number };
  /** Roles that may log in, with their passwords (auth_type trust still needs them listed). */
  users?: string[];
  poolMode?: 'transaction' | 'session' | 'statement';
  /** Server connections per database and user. */
  poolSize?: number;
  /**
   * `trust` (default): no passwords. `password`: clients log in with their Postgres password
   * (SCRAM), which PgBouncer reads from pg_shadow as they log in (auth_query), so an
   * `ALTER ROLE ... PASSWORD` takes effect at once, as on Supabase's pooler.
   */
  auth?: 'trust' | 'password';
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!PGBOUNCER_BINARY) throw new Error(PGBOUNCER_MISSING);
  const dir = tempDir('ss-pgbouncer-');
  // PgBouncer refuses to run as root: it drops to `postgres` (-u), which must read and write here.
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (asUser) chmodSync(dir, 0o777);
  const users = ['postgres', ...(options.users ?? [])];
  writeFileSync(path.join(dir, 'userlist.txt'), users.map((user) => `"${user}" ""\n`).join(''));
  const launch = async (port: number) => {
    const config = path.join(dir, 'pgbouncer.ini');
    writeFileSync(
      config,
      [
        '[databases]',
        `* = host=${options.server.host} port=${options.server.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        ...(options.auth === 'password'
          ? ['auth_type = scram-sha-256', 'auth_user = postgres', 'auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1']
          : ['auth_type = trust']),
        `auth_file = ${path.join(dir, 'userlist.txt')}`,
        `pool_mode = ${options.poolMode ?? 'transaction'}`,
        'max_client_conn = 500',
        `default_pool_size = ${options.poolSize ?? 20}`,
        // No ignore_startup_parameters: a client that sends statement_timeout at startup is refused, as by Supabase's pooler.
        'server_reset_query =',
        'server_check_delay = 0',
        `logfile = ${path.join(dir, 'pgbouncer.log')}`,
        `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    const child = spawn(PGBOUNCER_BINARY, [...(asUser ? ['-u', asUser] : []), config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const listening = await untilListening(port, exited);
    return { listening, stderr: () => stderr, stop: () => stopChild(child, exited) };
  };
  const log = () => {
    try {
      return readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8');
    } catch {
      return '';
    }
  };
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let running = await launch(port);
    if (!running.listening) {
      await running.stop();
      // Another process took the port between our probe and PgBouncer's bind: pick another.
      if (attempt < 3 && /Address already in use/i.test(log() + running.stderr())) continue;
      throw new Error(`PgBouncer did not start: ${(running.stderr() || log()).trim().split('\n').slice(-3).join(' | ')}`);
    }
    atFileEnd(() => running.stop());
    return {
      port,
      url: (database, user = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${database}`,
      log,
      async restart() {
        await running.stop();
        running = await launch(port);
        if (!running.listening) throw new Error(`PgBouncer did not start again on port ${port}: ${running.stderr() || log()}`);
      },
      stop: () => running.stop(),
    };
  }
}

/** The test Postgres's host and port, from a URL such as adminDatabaseUrl. */
export function serverOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 5432) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function untilListening(port: number, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 10_000;
  while (!gone && Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // SIGINT: PgBouncer's safe shutdown waits for clients; SIGTERM closes at once.
  child.kill('SIGTERM');
  const timeout = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timeout);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
