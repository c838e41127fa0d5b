import { createServer } from 'node:net';

/**
 * A base URL where nothing listens: connecting is refused (ECONNREFUSED), as with an instance
 * that is down. It binds an ephemeral port and lets it go; another process could take the port
 * in between, which on a test machine is rare enough to accept.
 */
export async function deadBaseUrl(host = '127.0.0.1'): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
