import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { embeddedDataDirs } from '../../local/embedded-postgres';
import { isAlive } from '../../local/process-identity';
import { atFileEnd, tempDir } from './cleanup';

/**
 * A project state directory of a test's own: the embedded Postgres's data directory
 * (EMBEDDED_POSTGRES_DIR) and the local secrets file, in a fresh temp directory. Whatever
 * server is left on it is stopped, and its data (also the copy under /var/tmp when root)
 * removed, after the file's tests.
 */
export interface EmbeddedDir {
  env: Record<string, string>;
  /** The server's pid while postmaster.pid names one that lives. */
  serverPid(): number | undefined;
}

export function freshEmbeddedDir(prefix: string): EmbeddedDir {
  const dir = tempDir(prefix);
  const requested = path.join(dir, 'postgres');
  const serverPid = () => {
    for (const dataDir of embeddedDataDirs(requested)) {
      const file = path.join(dataDir, 'postmaster.pid');
      if (!existsSync(file)) continue;
      const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
      if (Number.isInteger(pid) && alive(pid)) return pid;
    }
    return undefined;
  };
  atFileEnd(async () => {
    const pid = serverPid();
    if (pid) {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 200 && alive(pid); i++) await delay(50);
    }
    for (const dataDir of embeddedDataDirs(requested)) {
      for (const leftover of [dataDir, `${dataDir}.log`, `${dataDir}.users`]) rmSync(leftover, { recursive: true, force: true });
    }
    const staged = embeddedDataDirs(requested)[1];
    if (staged !== requested) rmSync(path.dirname(staged), { recursive: true, force: true });
  });
  return { env: { EMBEDDED_POSTGRES_DIR: requested, SENDER_SYNC_SECRETS_FILE: path.join(dir, 'secrets.json') }, serverPid };
}

/** Running (a zombie is not). */
export function alive(pid: number): boolean {
  return isAlive({ pid });
}
