import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, thisProcess, type ProcessIdentity } from './process-identity';

/**
 * Which sender-sync processes use an embedded Postgres: one file per process in
 * `<data dir>.users/`, written and read under the data directory's lock. The server is
 * stopped by the last of them to leave; a file whose process is gone (kill -9) no longer
 * counts and is removed.
 */
export function usersDir(dataDir: string): string {
  return `${dataDir}.users`;
}

export function joinUsers(dataDir: string): void {
  const me = thisProcess();
  mkdirSync(usersDir(dataDir), { recursive: true });
  writeFileSync(path.join(usersDir(dataDir), String(me.pid)), JSON.stringify(me));
}

export function leaveUsers(dataDir: string): void {
  rmSync(path.join(usersDir(dataDir), String(process.pid)), { force: true });
}

/** The other processes still using the server (this one left out); files of dead ones are removed. */
export function otherUsers(dataDir: string): ProcessIdentity[] {
  let names: string[];
  try {
    names = readdirSync(usersDir(dataDir));
  } catch {
    return [];
  }
  const live: ProcessIdentity[] = [];
  for (const name of names) {
    if (name === String(process.pid)) continue;
    const file = path.join(usersDir(dataDir), name);
    let user: ProcessIdentity | undefined;
    try {
      user = JSON.parse(readFileSync(file, 'utf8')) as ProcessIdentity;
    } catch {
      user = undefined;
    }
    if (user && Number.isInteger(user.pid) && isAlive(user)) live.push(user);
    else rmSync(file, { force: true });
  }
  return live;
}
