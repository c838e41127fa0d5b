import { createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createSql, type Sql } from '../../../lambdas/db/client';
import { createEmptyDatabase } from '../../helpers/database';

/* The Postgres client's own bounds: a server that never answers, and a statement that runs too long. */

const opened: Sql[] = [];
const sockets = new Set<Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

afterAll(async () => {
  await Promise.all(opened.map((sql) => sql.end({ timeout: 1 })));
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('Postgres connection bounds', () => {
  it('gives up on a server that accepts the connection and never answers, in the connect timeout', async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const sql = createSql({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, ssl: 'disable', max: 1, connectTimeoutSeconds: 1 });
    opened.push(sql);
    await expect(sql`select 1`).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' });
  }, 30_000);

  it('ends a statement of a transaction that runs past its statement timeout, set for that transaction only', async () => {
    const db = await createEmptyDatabase();
    const sql = createSql({ url: db.url, ssl: 'disable', max: 1, timeouts: { statementTimeoutMs: 200, lockTimeoutMs: 300 } });
    opened.push(sql);
    const inside = await sql.begin(
      (tx) => tx<{ statement: string; lock: string }[]>`
      select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock
    `,
    );
    expect(inside).toEqual([{ statement: '200ms', lock: '300ms' }]);
    await expect(sql.begin((tx) => tx`select pg_sleep(5)`)).rejects.toMatchObject({ code: '57014' });
    // SET LOCAL: nothing stays on the connection (through a transaction pooler it would reach another client).
    expect((await sql<{ statement_timeout: string }[]>`show statement_timeout`)[0].statement_timeout).toBe('0');
    // Nor is anything sent at startup, where PgBouncer refuses unknown parameters.
    const [{ application_name }] = await sql<
      { application_name: string }[]
    >`select current_setting('application_name') as application_name`;
    expect(application_name).toBe('sender-sync');
  }, 30_000);
});
