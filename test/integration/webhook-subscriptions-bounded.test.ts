import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSubscriptions } from '../../lambdas/webhooks/subscriptions';

/*
 * `webhooks register` and `webhooks list` read EmailBison's /api/webhook-url answers: an
 * answer that never ends is refused once past its byte cap (1 MiB), not buffered whole,
 * and a well-formed one still reads. A real HTTP server streams the answers.
 */
let server: http.Server;
let baseUrl: string;
let endlessBytesSent = 0;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    if (request.headers.authorization === 'Bearer endless') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"data": [');
      const chunk = `${'{"id": 1, "name": "x", "url": "http://x", "events": []},'.repeat(1000)}`;
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) endlessBytesSent += chunk.length;
        if (!response.destroyed) response.once('drain', pump);
      };
      response.on('close', () => response.removeAllListeners('drain'));
      pump();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ data: [{ id: 7, name: 'sender-sync', url: 'http://127.0.0.1:4011/emailbison/1/2/t', events: [] }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('EmailBison webhook subscriptions, read bounded', () => {
  it('refuses an answer that never ends once past 1 MiB, naming the workspace', async () => {
    await expect(listSubscriptions({ workspace: 'Acme Outbound', baseUrl, apiKey: 'endless' })).rejects.toThrow(
      /answer to GET \/api\/webhook-url for workspace "Acme Outbound" went past 1048576 bytes/,
    );
    // The read stopped near the cap: what the server managed to send is bounded by socket buffers, not by the answer.
    expect(endlessBytesSent).toBeLessThan(64 * 1024 * 1024);
  });

  it('reads a well-formed answer', async () => {
    const subscriptions = await listSubscriptions({ workspace: 'Acme Outbound', baseUrl, apiKey: 'key' });
    expect(subscriptions.map((s) => s.id)).toEqual([7]);
  });
});
