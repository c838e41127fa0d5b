import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { idsOf, readAll, seedSim, simClient } from './fixtures';

const sim = await seedSim();

describe('listSenderEmails', () => {
  it('reads every account of the largest workspace once, pages in order', async () => {
    const client = simClient(sim, 'Tidewater Consulting');
    const { pages, ids, error } = await readAll(client);

    expect(error).toBeUndefined();
    expect(pages.map((page) => page.page)).toEqual(Array.from({ length: 29 }, (_, index) => index + 1));
    expect(ids).toEqual(idsOf(sim.truth('Tidewater Consulting')));
    expect(pages.every((page) => page.total === 433 && page.lastPage === 29 && page.skipped.length === 0)).toBe(true);
    expect(client.stats).toEqual({ requests: 29, retries: 0, pages: 29, items: 433, skippedItems: 0, rateLimitWaitMs: 0 });
  });

  it('normalizes items and keeps the raw item with fields the client does not know', async () => {
    const client = simClient(sim, 'Zürich Data Partners');
    const [first] = (await readAll(client)).pages[0].items;
    const truth = sim.truth('Zürich Data Partners')[0];

    expect(first).toMatchObject({
      id: truth.id,
      email: truth.email,
      name: truth.name,
      emailsSentCount: truth.emails_sent_count,
      totalOpenedCount: truth.total_opened_count,
      tags: truth.tags,
      createdAt: truth.created_at,
    });
    expect(first.raw).toEqual(truth);
    expect(first.raw.imap_server).toBe(truth.imap_server);
  });

  it('resumes from fromPage and reads only that page and the ones after it', async () => {
    const { pages, ids } = await readAll(simClient(sim, 'Acme Outbound'), { fromPage: 5 });

    expect(pages[0].page).toBe(5);
    expect(ids).toEqual(idsOf(sim.truth('Acme Outbound').slice(4 * 15)));
  });

  it('yields one empty page when asked to start past the last page', async () => {
    const { pages } = await readAll(simClient(sim, 'Acme Outbound'), { fromPage: 40 });

    expect(pages).toEqual([
      {
        kind: 'page',
        mode: 'page',
        fetchedAtMs: expect.any(Number),
        next: null,
        page: 40,
        lastPage: 13,
        total: 187,
        items: [],
        skipped: [],
      },
    ]);
  });

  it('yields one empty page for a workspace with no accounts', async () => {
    const { pages } = await readAll(simClient(sim, 'Quantum Leap Coaching'));

    expect(pages).toEqual([
      { kind: 'page', mode: 'page', fetchedAtMs: expect.any(Number), next: null, page: 1, lastPage: 1, total: 0, items: [], skipped: [] },
    ]);
  });

  it.each([1, 2, 3])('never has more than pageConcurrency=%i requests in flight, and uses them all', async (pageConcurrency) => {
    sim.setLatency({ minMs: 2, maxMs: 12 });
    const { ids } = await readAll(simClient(sim, 'Tidewater Consulting', { pageConcurrency }));

    expect(ids).toEqual(idsOf(sim.truth('Tidewater Consulting')));
    expect(sim.counters('Tidewater Consulting').peakConcurrent).toBe(pageConcurrency);
  });

  it('aborts the requests in flight when the consumer stops early', async () => {
    sim.setLatency(400);
    const client = simClient(sim, 'Tidewater Consulting', { pageConcurrency: 3 });
    for await (const page of client.listSenderEmails()) {
      expect(page).toMatchObject({ kind: 'page', page: 1 });
      await delay(50); // pages 2-4 are now in flight, each held 400 ms by the sim
      expect(sim.counters('Tidewater Consulting').inFlight).toBe(3);
      break;
    }
    await delay(100);

    expect(sim.counters('Tidewater Consulting')).toMatchObject({ requests: 4, inFlight: 0 });
    expect(client.stats.pages).toBe(1);
  });

  it('stops with the caller signal reason when the caller aborts', async () => {
    sim.setLatency(200);
    const controller = new AbortController();
    const reason = new Error('run budget spent');
    setTimeout(() => controller.abort(reason), 50);
    const pages = simClient(sim, 'Acme Outbound').listSenderEmails({ signal: controller.signal });

    await expect(pages.next()).rejects.toBe(reason);
  });

  it('accepts a base URL that ends in /api/', async () => {
    const { ids } = await readAll(simClient(sim, 'Vértice Labs', { baseUrl: `${sim.url}/api/` }));

    expect(ids).toEqual(idsOf(sim.truth('Vértice Labs')));
  });
});

describe('checkKey', () => {
  it('answers the workspace total with a single request', async () => {
    const client = simClient(sim, 'Northbeam Recruiting');

    await expect(client.checkKey()).resolves.toEqual({ total: 354 });
    expect(sim.counters('Northbeam Recruiting').requests).toBe(1);
  });
});
