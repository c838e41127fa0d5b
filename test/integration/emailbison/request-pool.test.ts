import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestPool } from '../../../lambdas/emailbison/undici-pool';

/*
 * The client's pool is built from undici's own modules, not its index (a smaller bundle):
 * it must carry request() itself, whatever else the process loaded.
 */
let server: http.Server;
let origin: string;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ path: request.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('RequestPool', () => {
  it('has request() of its own and answers a real request', async () => {
    expect(Object.hasOwn(RequestPool.prototype, 'request')).toBe(true);
    const pool = new RequestPool(origin, { connect: { timeout: 1_000 }, headersTimeout: 1_000, bodyTimeout: 1_000 });
    try {
      const response = await pool.request({ path: '/api/sender-emails?page=2', method: 'GET' });
      expect(response.statusCode).toBe(200);
      expect(await response.body.json()).toEqual({ path: '/api/sender-emails?page=2' });
    } finally {
      await pool.destroy();
    }
  });
});
