import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES, type WebhookReceiver } from './receive';

/*
 * The receiver on node's http server: `sender-sync webhooks serve`, the tests and the bench.
 * A body is read up to one byte past the limit and the rest discarded, so an oversized
 * delivery costs no memory and is still answered by receive.ts (404 for a wrong token
 * before 413 for the size). The answer does not wait for Postgres: receive.ts only queues.
 */
export interface LocalReceiver {
  /** http://127.0.0.1:PORT (no path, no token). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startLocalReceiver(receive: WebhookReceiver, options: { port?: number; host?: string } = {}): Promise<LocalReceiver> {
  const server = createServer((req, res) => {
    readCapped(req, MAX_BODY_BYTES + 1)
      .then((body) => receive({ method: req.method ?? 'GET', path: req.url ?? '/', headers: flatHeaders(req), body }))
      .then(
        (answer) => {
          res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
          res.end(answer.body);
        },
        () => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"message":"Internal Server Error"}');
        },
      );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A burst opens thousands of connections at once: node's default backlog (511) drops SYNs past it, which the client
    // resends a second or more later. The kernel caps the backlog at net.core.somaxconn (4096 on current Linux).
    server.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readCapped(req: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size >= cap) return;
      const room = cap - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]));
}
