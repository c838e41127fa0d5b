import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * An exclusive lock on a directory that dies with the process holding it: a listening
 * socket, which the kernel closes when its process ends, however it ends (kill -9 too).
 * Taking it is binding it, one atomic step: never checked, then taken.
 *
 * On Linux an abstract Unix socket (a name with no file: nothing is left behind). Elsewhere
 * a socket file in the temporary directory; one left by a dead process refuses connections
 * and is removed (two processes removing the same stale file at the same instant is the one
 * race left there).
 */
export class DirectoryBusyError extends Error {
  override readonly name = 'DirectoryBusyError';
}

export async function lockDirectory(directory: string, options: { timeoutMs: number; what: string }): Promise<() => Promise<void>> {
  const address = socketAddress(directory);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const server = net.createServer((socket) => socket.destroy());
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen({ path: address, exclusive: true }, () => resolve(undefined));
    });
    if (!error) {
      server.unref();
      return () => new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (error.code !== 'EADDRINUSE') throw error;
    if (!address.startsWith('\0') && (await refusesConnections(address))) {
      rmSync(address, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new DirectoryBusyError(
        `${options.what} stayed busy for ${Math.round(options.timeoutMs / 1000)} s (another sender-sync process holds it).`,
      );
    }
    await delay(50);
  }
}

function socketAddress(directory: string): string {
  const hash = createHash('sha256').update(path.resolve(directory)).digest('hex').slice(0, 32);
  return process.platform === 'linux' ? `\0sender-sync-dir-${hash}` : path.join(os.tmpdir(), `sender-sync-dir-${hash}.sock`);
}

function refusesConnections(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: address });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' || error.code === 'ENOENT'));
  });
}
