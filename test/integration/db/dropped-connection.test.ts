import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../helpers/database';

/*
 * postgres.js 3.4.9 defers small writes with setImmediate and, when the socket closed in
 * between, throws from that callback: an uncatchable crash of the whole process (a Lambda
 * then dies as Runtime.ExitError). patches/postgres+3.4.9.patch makes the query fail with
 * CONNECTION_CLOSED instead (porsager/postgres#1154, #1208).
 */
const db = await createTestDatabase();

describe('a connection whose backend was killed', () => {
  it('fails the next query with CONNECTION_CLOSED instead of crashing the process', async () => {
    const reserved = await db.sql.reserve();
    const [{ pid }] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await db.sql`select pg_terminate_backend(${pid})`;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      await expect(reserved`select 1`).rejects.toMatchObject({ code: expect.stringMatching(/^CONNECTION_(CLOSED|ENDED|DESTROYED)$/) });
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      reserved.release();
    }
  });
});
