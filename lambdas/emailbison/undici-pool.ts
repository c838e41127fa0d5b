import type { Dispatcher, Pool as UndiciPool } from 'undici';
import Pool from 'undici/lib/dispatcher/pool.js';
import request from 'undici/lib/api/api-request.js';

/*
 * undici's index loads fetch, WebSocket, EventSource, the HTTP caches and the mocks
 * (about 550 KB of the sync bundle's 1.1 MB) to offer what this client never uses: it
 * needs a Pool and its request(). The index adds request() to every dispatcher's
 * prototype; this subclass adds the same function to its own, so nothing here depends
 * on whether something else in the process loaded the index.
 */
export class RequestPool extends (Pool as unknown as typeof UndiciPool) {}
Object.defineProperty(RequestPool.prototype, 'request', {
  value: request as unknown as Dispatcher['request'],
  writable: true,
  configurable: true,
});
