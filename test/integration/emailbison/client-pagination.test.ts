import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmailBisonClient } from '../../../lambdas/emailbison/client';
import { PAGE_CAP_ANSWERS } from '../../../sim/server';
import { idsOf, readAll, seedSim, simClient } from './fixtures';

const sim = await seedSim();
const WS = 'Tidewater Consulting'; // 433 accounts: 29 pages of 15
const listRequests = () => sim.requestLog().filter((entry) => entry.path === '/api/sender-emails' && entry.workspace === WS);
const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

afterAll(() => {
  sim.setPagination('page');
  sim.setPageCap(undefined);
});

describe('both pagination modes', () => {
  it('reads a cursor-only instance in cursor mode, sending pagination_type=cursor on every request, one at a time', async () => {
    sim.setPagination('cursor-only');
    const { pages, ids, restarts, error } = await readAll(simClient(sim, WS, { pagination: 'cursor', pageConcurrency: 5 }));
    expect(error).toBeUndefined();
    expect(restarts).toEqual([]);
    expect(sorted(ids)).toEqual(idsOf(sim.truth(WS)));
    expect(pages.every((page) => page.mode === 'cursor' && page.total === null)).toBe(true);
    expect(pages.at(-1)!.next).toBeNull();
    const requests = listRequests();
    expect(requests).toHaveLength(29);
    expect(requests.every((entry) => entry.query.pagination_type === 'cursor')).toBe(true);
    expect(requests.slice(1).every((entry) => typeof entry.query.cursor === 'string')).toBe(true);
    expect(sim.counters(WS).peakConcurrent).toBe(1);
  });

  it('in auto, follows a cursor answer to a page request from the top, in cursor mode', async () => {
    sim.setPagination('cursor-only');
    const { ids, restarts, error } = await readAll(simClient(sim, WS));
    expect(error).toBeUndefined();
    expect(restarts).toEqual([{ kind: 'restart', mode: 'cursor', reason: 'EmailBison answered page 1 in cursor pagination' }]);
    expect(sorted(ids)).toEqual(idsOf(sim.truth(WS)));
  });

  it('in auto, reads a cursor-default instance in page mode (an explicit page keeps the total)', async () => {
    sim.setPagination('cursor-default');
    const { pages, ids, restarts } = await readAll(simClient(sim, WS));
    expect(restarts).toEqual([]);
    expect(pages.every((page) => page.mode === 'page' && page.total === 433)).toBe(true);
    expect(ids).toEqual(idsOf(sim.truth(WS)));
  });

  it('reads a cursor-default instance in cursor mode when asked, and still has its total from page=1', async () => {
    sim.setPagination('cursor-default');
    const client = simClient(sim, WS, { pagination: 'cursor' });
    const { ids } = await readAll(client);
    expect(sorted(ids)).toEqual(idsOf(sim.truth(WS)));
    expect(await client.pageModeTotal()).toBe(433);
    sim.setPagination('cursor-only');
    expect(await client.pageModeTotal()).toBeNull();
  });

  it('restarts in cursor mode from the top when the instance switches mode mid-walk, every account read', async () => {
    sim.setPagination('page');
    sim.setPagination('cursor-only', { afterRequests: 10 });
    const { pages, ids, restarts, error } = await readAll(simClient(sim, WS, { pageConcurrency: 3 }));
    expect(error).toBeUndefined();
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toMatchObject({
      mode: 'cursor',
      reason: expect.stringMatching(/^EmailBison answered page \d+ in cursor pagination$/),
    });
    const cursorPages = pages.filter((page) => page.mode === 'cursor');
    expect(pages.filter((page) => page.mode === 'page').length).toBeGreaterThan(0);
    expect(sorted(cursorPages.flatMap((page) => page.items.map((item) => item.id)))).toEqual(idsOf(sim.truth(WS)));
    expect(new Set(ids).size).toBe(433);
  });

  for (const answer of PAGE_CAP_ANSWERS) {
    it(`restarts in cursor mode when page mode refuses a page past its cap (422, body: ${answer})`, async () => {
      sim.setPagination('page');
      sim.setPageCap(3, answer);
      try {
        const { pages, restarts, error } = await readAll(simClient(sim, WS));
        expect(error).toBeUndefined();
        expect(restarts).toEqual([
          { kind: 'restart', mode: 'cursor', reason: 'EmailBison refused page 4 past its page-depth cap (HTTP 422)' },
        ]);
        expect(pages.filter((page) => page.mode === 'page').map((page) => page.page)).toEqual([1, 2, 3]);
        const cursorIds = pages.filter((page) => page.mode === 'cursor').flatMap((page) => page.items.map((item) => item.id));
        expect(sorted(cursorIds)).toEqual(idsOf(sim.truth(WS)));
      } finally {
        sim.setPageCap(undefined, 'laravel');
      }
    });
  }

  it('restarts in cursor mode on another 4xx past page 1 (400, 404, 410), whatever the body; the same on page 1 fails the workspace', async () => {
    sim.setPagination('page');
    for (const status of [400, 404, 410]) {
      sim.setFaults(WS, { refusePagesFrom: { page: 5, status } });
      const { restarts, ids, error } = await readAll(simClient(sim, WS));
      expect(error, `HTTP ${status}`).toBeUndefined();
      expect(restarts).toEqual([
        { kind: 'restart', mode: 'cursor', reason: `EmailBison refused page 5 past its page-depth cap (HTTP ${status})` },
      ]);
      expect(new Set(ids).size).toBe(433);
    }
    sim.setFaults(WS, { refusePagesFrom: { page: 1, status: 400 } });
    expect((await readAll(simClient(sim, WS))).error).toMatchObject({ name: 'UnexpectedResponseError', status: 400, page: 1 });
    sim.setFaults(WS, { refusePagesFrom: { page: 1, status: 422 } });
    expect((await readAll(simClient(sim, WS))).restarts).toHaveLength(1);
    sim.clearFaults();
  });

  it('with EMAILBISON_PAGINATION=page, fails on the cap with PageCapReachedError, naming the workspace', async () => {
    sim.setPagination('page');
    sim.setPageCap(3);
    const { error } = await readAll(simClient(sim, WS, { pagination: 'page' }));
    sim.setPageCap(undefined);
    expect(error).toMatchObject({ name: 'PageCapReachedError', code: 'SS_EMAILBISON_PAGE_CAP', page: 4, workspace: WS });
  });

  it('resumes a cursor walk from a saved token', async () => {
    sim.setPagination('cursor-only');
    const client = simClient(sim, WS, { pagination: 'cursor' });
    const first = await readAll(client);
    const resumeFrom = first.pages[9].next!;
    expect(resumeFrom).toMatchObject({ mode: 'cursor', token: expect.any(String) });
    const rest = await readAll(simClient(sim, WS, { pagination: 'cursor' }), { from: resumeFrom });
    expect(rest.ids).toEqual(first.pages.slice(10).flatMap((page) => page.items.map((item) => item.id)));
  });
});

describe("EmailBison's errors", () => {
  it('answers 200 success:false as a malformed page (retried), with its message, sanitised and without the key', async () => {
    sim.setPagination('page');
    const key = sim.workspaces().find((w) => w.name === WS)!.apiKey;
    sim.setFaults(WS, { successFalse: { message: `Workspace suspended.\nkey=${key} ${'x'.repeat(400)}` } });
    const { error } = await readAll(simClient(sim, WS, { maxAttempts: 2 }));
    expect(error).toMatchObject({ name: 'MalformedPageError', code: 'SS_EMAILBISON_MALFORMED_PAGE', workspace: WS });
    const message = (error as Error).message;
    expect(message).toContain(`workspace "${WS}"`);
    expect(message).toContain('EmailBison said: "Workspace suspended. key=[redacted]');
    expect(message).not.toContain(key);
    expect(message.length).toBeLessThan(500);
    expect(sim.counters(WS).requests).toBe(2);
  });

  it('retries an HTML error page as unavailable, then gives up with EmailBisonUnavailableError', async () => {
    sim.setFaults(WS, { htmlErrorPage: { status: 502 } });
    const { error } = await readAll(simClient(sim, WS, { maxAttempts: 3 }));
    expect(error).toMatchObject({ name: 'EmailBisonUnavailableError', workspace: WS });
    expect((error as Error).message).toMatch(/an HTML error page \(HTTP 502\)/);
    expect(sim.counters(WS).requests).toBe(3);
  });

  it('reads on after an HTML error page that passes', async () => {
    sim.setFaults(WS, { htmlErrorPage: { status: 200, times: 2 } });
    const { ids, error } = await readAll(simClient(sim, WS));
    expect(error).toBeUndefined();
    expect(ids).toEqual(idsOf(sim.truth(WS)));
  });

  it('answers another 403 with RejectedApiKeyError, not retried', async () => {
    sim.setFaults(WS, { failFromPage: { page: 1, status: 403 } });
    const { error } = await readAll(simClient(sim, WS));
    expect(error).toMatchObject({ name: 'RejectedApiKeyError', status: 403, workspace: WS });
    expect(sim.counters(WS).requests).toBe(1);
  });
});

describe('a 403 saying the key does not match the workspace', () => {
  let server: Server;
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is RejectedApiKeyError by its status (the binding check names the workspace), not retried, with its words and never the key', async () => {
    let requests = 0;
    server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          data: { success: false, message: 'This action is unauthorized. The api key does not match the workspace the record is on.' },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const key = 'sk_test_bound-elsewhere-0123456789';
    const client = createEmailBisonClient({
      workspace: 'Acme Outbound',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      apiKey: key,
    });
    const { error } = await readAll(client);
    expect(error).toMatchObject({
      name: 'RejectedApiKeyError',
      code: 'SS_EMAILBISON_KEY_REJECTED',
      status: 403,
      workspace: 'Acme Outbound',
    });
    expect((error as Error).message).toContain('"Acme Outbound"');
    expect((error as Error).message).toContain('does not match the workspace');
    expect((error as Error).message).not.toContain(key);
    expect(requests).toBe(1);
  });
});
