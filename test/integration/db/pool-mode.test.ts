import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createSql, type Sql } from '../../../lambdas/db/client';
import { createEmptyDatabase, type TestDatabase } from '../../helpers/database';

/*
 * How many queries a connection has in flight, seen on the wire: a proxy between the
 * client and Postgres counts each Sync or simple Query the client sends and each
 * ReadyForQuery the server answers. postgres.js pipelines (sends the next query before
 * the last answer); Supavisor in transaction mode loses track of pipelined replies
 * (porsager/postgres#970, supabase/supabase#50358), so in transaction mode the client must not.
 */
interface Wire {
  url: string;
  maxInFlight(): number;
  close(): Promise<void>;
}

/** Postgres messages out of a byte stream: [type][int32 length incl. itself][body]; the first client message has no type. */
function messageTypes(untypedFirst: boolean, onType: (type: string) => void) {
  let buffer = Buffer.alloc(0);
  let first = untypedFirst;
  return (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const header = first ? 4 : 5;
      if (buffer.length < header) return;
      const length = buffer.readInt32BE(first ? 0 : 1);
      const total = first ? length : length + 1;
      if (buffer.length < total) return;
      if (!first) onType(String.fromCharCode(buffer[0]));
      first = false;
      buffer = buffer.subarray(total);
    }
  };
}

async function wireTo(db: TestDatabase): Promise<Wire> {
  const target = new URL(db.url);
  let peak = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    let sent = 0;
    let answered = -1; // the ReadyForQuery that ends the startup answers no query
    client.on(
      'data',
      messageTypes(true, (type) => {
        if (type === 'S' || type === 'Q') {
          sent += 1;
          peak = Math.max(peak, sent - Math.max(answered, 0));
        }
      }),
    );
    upstream.on(
      'data',
      messageTypes(false, (type) => {
        if (type === 'Z') answered += 1;
      }),
    );
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `postgres://${decodeURIComponent(target.username) || 'postgres'}@127.0.0.1:${port}${target.pathname}`,
    maxInFlight: () => peak,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const db = await createEmptyDatabase();
const opened: { sql: Sql; wire: Wire }[] = [];
afterAll(async () => {
  for (const { sql, wire } of opened) {
    await sql.end({ timeout: 1 });
    await wire.close();
  }
});

async function clientIn(mode: 'session' | 'transaction') {
  const wire = await wireTo(db);
  const sql = createSql({ url: wire.url, ssl: 'disable', max: 1, poolMode: mode });
  opened.push({ sql, wire });
  await sql`select 1`;
  return { sql, wire };
}

/** Ten queries at once on one connection, as a burst of sync work would send them. */
async function burst(sql: Sql) {
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => sql.unsafe(`select ${i} as n, pg_sleep(0.02)`)));
  return answers.map((rows) => rows[0].n);
}

describe('queries in flight on one connection', () => {
  it('pipelines in session mode (the wire shows several at once)', async () => {
    const { sql, wire } = await clientIn('session');
    expect(await burst(sql)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(wire.maxInFlight()).toBeGreaterThan(1);
  });

  it('sends one query at a time in transaction mode, transactions included, each answered in turn', async () => {
    const { sql, wire } = await clientIn('transaction');
    expect(await burst(sql)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const inTransaction = await sql.begin((tx) => Promise.all([tx`select 1 as n`, tx`select 2 as n`, tx`select 3 as n`]));
    expect(inTransaction.map((rows) => rows[0].n)).toEqual([1, 2, 3]);
    expect(wire.maxInFlight()).toBe(1);
  });
});
