import type { Dispatcher } from 'undici';
import { RequestPool } from './undici-pool';

/**
 * One keep-alive pool per EmailBison host, shared by every client in the process (a Lambda
 * container reuses it across invocations), so the workspaces of one instance reuse sockets.
 */
const pools = new Map<string, RequestPool>();

export function sharedDispatcher(
  origin: string,
  options: { connectTimeoutMs: number; headersTimeoutMs: number; bodyTimeoutMs: number },
): Dispatcher {
  const key = `${origin} ${options.connectTimeoutMs}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new RequestPool(origin, {
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    });
    pools.set(key, pool);
  }
  return pool;
}

/** Closes the shared pools, for a process that wants to exit promptly (the CLI, tests). */
export async function closeSharedDispatchers(): Promise<void> {
  const closing = [...pools.values()].map((pool) => pool.destroy());
  pools.clear();
  await Promise.allSettled(closing);
}
