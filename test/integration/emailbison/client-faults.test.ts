import { describe, expect, it } from 'vitest';
import { startEmailBisonSim } from '../../../sim/server';
import { everyRendering, idsOf, keyOf, readAll, seedSim, simClient, sorted } from './fixtures';

const WORKSPACE = 'Acme Outbound'; // 187 accounts: 13 pages, the last with 7
const sim = await seedSim();

const allIds = () => idsOf(sim.truth(WORKSPACE));

describe('keys and addresses', () => {
  it('fails fast on a rejected key: one request, no retry, the workspace named and the key nowhere', async () => {
    sim.setFaults(WORKSPACE, { rejectKey: true });
    const client = simClient(sim, WORKSPACE);
    const { pages, error } = await readAll(client);

    expect(pages).toEqual([]);
    expect(error).toMatchObject({
      name: 'RejectedApiKeyError',
      code: 'SS_EMAILBISON_KEY_REJECTED',
      workspace: WORKSPACE,
      retryable: false,
    });
    expect((error as Error).message).toContain('workspace "Acme Outbound"');
    expect(everyRendering(error)).not.toContain(keyOf(sim, WORKSPACE));
    expect(sim.counters(WORKSPACE).requests).toBe(1);
    expect(client.stats).toMatchObject({ requests: 1, retries: 0 });
  });

  it('rejects an unknown key the same way, and checkKey says so', async () => {
    const sentinel = 'sim_sentinel_0123456789abcdef';
    const error = await simClient(sim, WORKSPACE, { apiKey: sentinel })
      .checkKey()
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'SS_EMAILBISON_KEY_REJECTED', status: 401 });
    expect(everyRendering(error)).not.toContain(sentinel);
    expect(sim.counters().requests).toBe(1);
  });

  it('says the base URL looks wrong when the API is not where it was told', async () => {
    const { error } = await readAll(simClient(sim, WORKSPACE, { baseUrl: `${sim.url}/v2` }));

    expect(error).toMatchObject({ name: 'BaseUrlNotFoundError', code: 'SS_EMAILBISON_NOT_FOUND', workspace: WORKSPACE });
    expect((error as Error).message).toContain('/v2/api/sender-emails');
    expect(sim.counters().requests).toBe(1);
  });

  it('reports a host that refuses connections as unavailable, without the key', async () => {
    const gone = await startEmailBisonSim({ scenario: 'grid:1:1' });
    await gone.close();
    const { error } = await readAll(simClient(sim, WORKSPACE, { baseUrl: gone.url, maxAttempts: 2 }));

    expect(error).toMatchObject({ code: 'SS_EMAILBISON_UNAVAILABLE', page: 1, retryable: true });
    expect((error as Error).message).toContain('refused the connection (ECONNREFUSED)');
    expect(everyRendering(error)).not.toContain(keyOf(sim, WORKSPACE));
  });
});

describe('rate limits', () => {
  it('waits out 429s with Retry-After in seconds and receives every account once', async () => {
    sim.setFaults(WORKSPACE, { rateLimitFraction: 0.3, retryAfterSeconds: 2 });
    const client = simClient(sim, WORKSPACE, { maxAttempts: 12 });
    const { ids, error } = await readAll(client);

    expect(error).toBeUndefined();
    expect(ids).toEqual(allIds());
    const limited = sim.counters(WORKSPACE).byStatus[429];
    expect(limited).toBeGreaterThan(0);
    expect(client.stats.retries).toBe(limited);
    expect(client.stats.rateLimitWaitMs).toBeGreaterThanOrEqual(2_000);
    expect(client.stats.rateLimitWaitMs).toBeLessThanOrEqual(2_000 * limited);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    sim.setFaults(WORKSPACE, { rateLimitFraction: 0.3, retryAfterSeconds: 3, retryAfterAsDate: true });
    const client = simClient(sim, WORKSPACE, { maxAttempts: 12 });
    const { ids } = await readAll(client);

    expect(ids).toEqual(allIds());
    const limited = sim.counters(WORKSPACE).byStatus[429];
    // An HTTP date has whole seconds: "3 s from now" is 2 to 3 s away when it is read.
    expect(client.stats.rateLimitWaitMs).toBeGreaterThanOrEqual(1_500);
    expect(client.stats.rateLimitWaitMs).toBeLessThanOrEqual(3_000 * limited);
  });

  it('honours retry_after given in the JSON body', async () => {
    sim.setFaults(WORKSPACE, { rateLimitFraction: 0.3, retryAfterSeconds: 8, retryAfterInBody: true });
    const client = simClient(sim, WORKSPACE, { maxAttempts: 12 });
    const { ids } = await readAll(client);

    expect(ids).toEqual(allIds());
    expect(client.stats.rateLimitWaitMs).toBeGreaterThanOrEqual(8_000);
  });

  it('clamps a Retry-After longer than maxRetryWaitMs', async () => {
    sim.setFaults(WORKSPACE, { rateLimitFraction: 0.3, retryAfterSeconds: 3_600 });
    const client = simClient(sim, WORKSPACE, { maxAttempts: 12, maxRetryWaitMs: 1_000 });
    const { ids } = await readAll(client);

    expect(ids).toEqual(allIds());
    expect(client.stats.rateLimitWaitMs).toBeLessThanOrEqual(1_000 * sim.counters(WORKSPACE).byStatus[429]);
  });

  it('backs off on a 429 that gives no wait', async () => {
    sim.setFaults(WORKSPACE, { rateLimitFraction: 0.3, retryAfterSeconds: null });
    const client = simClient(sim, WORKSPACE, { maxAttempts: 12 });
    const { ids } = await readAll(client);

    expect(ids).toEqual(allIds());
    expect(client.stats.retries).toBe(sim.counters(WORKSPACE).byStatus[429]);
  });
});

describe('server errors', () => {
  it('retries 5xx and receives every account once', async () => {
    sim.setFaults(WORKSPACE, { serverErrorFraction: 0.3 });
    const client = simClient(sim, WORKSPACE, { maxAttempts: 12 });
    const { ids } = await readAll(client);

    expect(ids).toEqual(allIds());
    const byStatus = sim.counters(WORKSPACE).byStatus;
    const failures = (byStatus[500] ?? 0) + (byStatus[502] ?? 0) + (byStatus[503] ?? 0) + (byStatus[504] ?? 0);
    expect(failures).toBeGreaterThan(0);
    expect(client.stats.retries).toBe(failures);
  });

  it('fails at the page that keeps failing, after yielding every page before it; a resume from there completes', async () => {
    sim.setFaults(WORKSPACE, { failFromPage: { page: 12, status: 500 } });
    const first = await readAll(simClient(sim, WORKSPACE, { maxAttempts: 3 }));

    expect(first.pages.map((page) => page.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(first.ids).toEqual(allIds().slice(0, 11 * 15));
    expect(first.error).toMatchObject({ code: 'SS_EMAILBISON_UNAVAILABLE', page: 12 });
    expect((first.error as Error).message).toContain('last failure: HTTP 500');

    sim.clearFaults();
    const rest = await readAll(simClient(sim, WORKSPACE), { fromPage: 12 });
    expect([...first.ids, ...rest.ids]).toEqual(allIds());
  });

  it('recovers when the failing pages come back before attempts run out', async () => {
    sim.setFaults(WORKSPACE, { failFromPage: { page: 10, status: 503, times: 2 } });
    const client = simClient(sim, WORKSPACE);
    const { ids } = await readAll(client);

    expect(ids).toEqual(allIds());
    expect(client.stats.retries).toBe(4 * 2);
  });

  it('does not retry a 4xx it cannot fix', async () => {
    sim.setFaults(WORKSPACE, { failFromPage: { page: 1, status: 400 } });
    const client = simClient(sim, WORKSPACE, { pageConcurrency: 1 });
    const { error } = await readAll(client);

    expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'SS_EMAILBISON_UNEXPECTED_RESPONSE', status: 400, page: 1 });
    expect(client.stats).toMatchObject({ requests: 1, retries: 0 });
  });

  it('takes a 422 past page 1 as the page cap, whatever its body: with EMAILBISON_PAGINATION=page it fails there, not retried', async () => {
    sim.setFaults(WORKSPACE, { failFromPage: { page: 2, status: 422 } });
    const client = simClient(sim, WORKSPACE, { pageConcurrency: 1, pagination: 'page' });
    const { error } = await readAll(client);

    expect(error).toMatchObject({ name: 'PageCapReachedError', code: 'SS_EMAILBISON_PAGE_CAP', status: 422, page: 2 });
    expect((error as Error).message).toContain('(HTTP 422: Server Error)');
    expect(client.stats).toMatchObject({ requests: 2, retries: 0 });
  });
});

describe('malformed pages and items', () => {
  it('skips an item without an email, says which, and keeps its 14 page-mates', async () => {
    const bad = sim.truth(WORKSPACE)[15 + 4];
    sim.setFaults(WORKSPACE, { invalidItemIds: [bad.id] });
    const { pages, ids } = await readAll(simClient(sim, WORKSPACE));

    expect(pages[1].items).toHaveLength(14);
    expect(pages[1].skipped).toEqual([{ page: 2, id: bad.id, reason: `page 2: item ${bad.id} has no email` }]);
    expect(ids).toEqual(allIds().filter((id) => id !== bad.id));
  });

  it('skips an item without an id and keeps the rest', async () => {
    const bad = sim.truth(WORKSPACE)[30];
    sim.setFaults(WORKSPACE, { invalidItemIds: [bad.id], invalidItemField: 'id' });
    const client = simClient(sim, WORKSPACE);
    const { pages, ids } = await readAll(client);

    expect(pages[2].skipped).toEqual([{ page: 3, id: undefined, reason: 'page 3: item at position 0 has no valid id' }]);
    expect(ids).toEqual(allIds().filter((id) => id !== bad.id));
    expect(client.stats.skippedItems).toBe(1);
  });

  it('retries a page of invalid JSON and keeps going when it recovers', async () => {
    sim.setFaults(WORKSPACE, { malformedPages: [3], malformedTimes: 2 });
    const client = simClient(sim, WORKSPACE);
    const { ids } = await readAll(client);

    expect(ids).toEqual(allIds());
    expect(client.stats.retries).toBe(2);
  });

  it('fails with an error naming the workspace and page when a page stays invalid JSON', async () => {
    sim.setFaults(WORKSPACE, { malformedPages: [3] });
    const { pages, error } = await readAll(simClient(sim, WORKSPACE, { maxAttempts: 4 }));

    expect(pages.map((page) => page.page)).toEqual([1, 2]);
    expect(error).toMatchObject({
      name: 'MalformedPageError',
      code: 'SS_EMAILBISON_MALFORMED_PAGE',
      page: 3,
      workspace: WORKSPACE,
      retryable: false,
    });
    expect((error as Error).message).toBe(
      'EmailBison returned a malformed page 3 for workspace "Acme Outbound" 4 time(s) in a row: the body is not valid JSON',
    );
  });

  it('treats a page without meta as malformed', async () => {
    sim.setFaults(WORKSPACE, { missingMetaPages: [5] });
    const { error } = await readAll(simClient(sim, WORKSPACE, { maxAttempts: 2 }));

    expect(error).toMatchObject({ code: 'SS_EMAILBISON_MALFORMED_PAGE', page: 5 });
    expect((error as Error).message).toContain('missing meta');
  });
});

describe('upstream data that moves', () => {
  it('follows the pages as they are when accounts are added and removed mid-read', async () => {
    const before = idsOf(sim.truth(WORKSPACE));
    sim.setFaults(WORKSPACE, { drift: { afterRequests: 5, add: 20, remove: 10 } });
    const { pages, ids } = await readAll(simClient(sim, WORKSPACE, { pageConcurrency: 1 }));
    const after = idsOf(sim.truth(WORKSPACE));

    expect(after).toHaveLength(197);
    // Pages 1-5 came from the old list, pages 6-14 from the new one (one more page than before).
    expect(ids).toEqual([...before.slice(0, 75), ...after.slice(75)]);
    expect(pages.map((page) => page.total)).toEqual([...Array(5).fill(187), ...Array(9).fill(197)]);
    expect(pages.at(-1)).toMatchObject({ page: 14, lastPage: 14 });
  });

  it('passes on an empty answer as it is, leaving the judgement to the sync', async () => {
    sim.setFaults(WORKSPACE, { emptyResponse: true });
    const { pages } = await readAll(simClient(sim, WORKSPACE));

    expect(pages).toEqual([
      { kind: 'page', mode: 'page', fetchedAtMs: expect.any(Number), next: null, page: 1, lastPage: 1, total: 0, items: [], skipped: [] },
    ]);
    expect(sim.truth(WORKSPACE).length).toBeGreaterThan(0);
  });

  it('reads changes made between runs', async () => {
    const removed = sim.removeAccounts(WORKSPACE, 3);
    const added = sim.addAccounts(WORKSPACE, 4);
    const updated = sim.updateAccounts(WORKSPACE, 5);
    const { pages, ids } = await readAll(simClient(sim, WORKSPACE));
    const items = pages.flatMap((page) => page.items);

    expect(ids).toEqual(allIds());
    expect(sorted(ids)).toEqual(ids);
    for (const account of removed) expect(ids).not.toContain(account.id);
    for (const account of added) expect(ids).toContain(account.id);
    for (const account of updated) {
      expect(items.find((item) => item.id === account.id)?.emailsSentCount).toBe(account.emails_sent_count);
    }
  });
});
