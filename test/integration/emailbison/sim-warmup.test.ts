import { afterEach, describe, expect, it } from 'vitest';
import { type EmailBisonSim, type SimOptions, startEmailBisonSim, WARMUP_FIGURES } from '../../../sim/server';

/** The simulator's warmup routes (issue 24, item 4), over real HTTP. */

const started: EmailBisonSim[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

/** Two workspaces of 40 accounts (3 pages each). */
async function instance(options: Partial<SimOptions> = {}): Promise<EmailBisonSim> {
  const sim = await startEmailBisonSim({ scenario: 'grid:2:40', ...options });
  started.push(sim);
  return sim;
}

const A = 'Acme Outbound';
const B = 'Brightwave Outbound';
const DAY = '2026-12-04';
const LIST = `/api/warmup/sender-emails?start_date=${DAY}&end_date=${DAY}`;

function keyOf(sim: EmailBisonSim, workspace: string): string {
  return sim.workspaces().find((candidate) => candidate.name === workspace)!.apiKey;
}

function get(sim: EmailBisonSim, path: string, key: string) {
  return fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
}

interface WarmupPage {
  data: Record<string, unknown>[];
  links: Record<string, string | null>;
  meta: Record<string, unknown>;
}

describe('GET /api/warmup/sender-emails', () => {
  it('pages every account of the key’s workspace, 15 a page, with the account list’s page shape and each account’s figures', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    const pages: WarmupPage[] = [];
    for (let page = 1; page <= 3; page++) pages.push((await (await get(sim, `${LIST}&page=${page}`, key)).json()) as WarmupPage);
    const path = `${sim.url}/api/warmup/sender-emails`;

    expect(pages.map((page) => page.data.length)).toEqual([15, 15, 10]);
    expect(Object.keys(pages[0])).toEqual(['data', 'links', 'meta']);
    expect(pages[1].meta).toEqual({ current_page: 2, from: 16, last_page: 3, per_page: 15, to: 30, total: 40, path });
    expect(pages[1].links).toEqual({ first: `${path}?page=1`, last: `${path}?page=3`, prev: `${path}?page=1`, next: `${path}?page=3` });
    const items = pages.flatMap((page) => page.data);
    expect(items).toEqual(sim.warmupTruth(A, DAY));
    expect(items.map((item) => item.id)).toEqual(sim.truth(A).map((account) => account.id));
    const first = sim.truth(A)[0];
    expect(Object.keys(items[0])).toEqual(['id', 'email', 'name', 'domain', 'tags', ...WARMUP_FIGURES]);
    expect(items[0]).toMatchObject({
      id: first.id,
      email: first.email,
      name: first.name,
      tags: first.tags,
      domain: first.email.split('@')[1],
    });
    for (const item of items) {
      for (const field of WARMUP_FIGURES) expect(item[field]).toEqual(expect.any(Number));
      expect(item.warmup_score as number).toBeLessThanOrEqual(100);
    }
  });

  it('serves the same figures for the same account and day on every instance of the seed, and other figures on another day', async () => {
    const one = await instance();
    const two = await instance();
    const other = '2026-12-03';

    expect(two.warmupTruth(A, DAY)).toEqual(one.warmupTruth(A, DAY));
    expect(one.warmupTruth(A, other)).not.toEqual(one.warmupTruth(A, DAY));
  });

  it('sums the counts over a range and gives the score as of its last day', async () => {
    const sim = await instance();
    const id = sim.truth(A)[0].id;
    sim.setWarmup(id, '2026-12-03', { warmup_emails_sent: 10, warmup_score: 90 });
    sim.setWarmup(id, DAY, { warmup_emails_sent: 7, warmup_score: 55 });
    const page = (await (
      await get(sim, `/api/warmup/sender-emails?start_date=2026-12-03&end_date=${DAY}`, keyOf(sim, A))
    ).json()) as WarmupPage;

    expect(page.data[0]).toMatchObject({ id, warmup_emails_sent: 17, warmup_score: 55 });
  });

  it.each([
    ['', 'The start date field is required.', ['start_date', 'end_date']],
    [`?start_date=${DAY}`, 'The end date field is required.', ['end_date']],
    [`?end_date=${DAY}`, 'The start date field is required.', ['start_date']],
    [`?start_date=2026-02-30&end_date=${DAY}`, 'The start date field must match the format Y-m-d.', ['start_date']],
    [`?start_date=${DAY}&end_date=04/12/2026`, 'The end date field must match the format Y-m-d.', ['end_date']],
    [`?start_date=${DAY}&end_date=2026-12-01`, 'The end date field must be a date after or equal to start date.', ['end_date']],
  ])('answers 422 in Laravel’s shape for a missing or malformed date (%s)', async (query, message, fields) => {
    const sim = await instance();
    const response = await get(sim, `/api/warmup/sender-emails${query}`, keyOf(sim, A));
    const body = (await response.json()) as { message: string; errors: Record<string, string[]> };

    expect(response.status).toBe(422);
    expect(body.message.startsWith(message)).toBe(true);
    expect(Object.keys(body.errors)).toEqual(fields);
  });

  it('answers 401 without a key it knows', async () => {
    const sim = await instance();
    expect((await get(sim, LIST, 'sim_nobody')).status).toBe(401);
  });
});

describe('GET /api/warmup/sender-emails/{id}', () => {
  it('answers one account’s figures, 404 for an unknown id, 403 for another workspace’s account, 422 without dates', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    const mine = sim.truth(A)[3];
    const theirs = sim.truth(B)[0];
    const one = await get(sim, `/api/warmup/sender-emails/${mine.id}?start_date=${DAY}&end_date=${DAY}`, key);

    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ data: sim.warmupTruth(A, DAY)[3] });
    expect((await get(sim, `/api/warmup/sender-emails/999999?start_date=${DAY}&end_date=${DAY}`, key)).status).toBe(404);
    const other = await get(sim, `/api/warmup/sender-emails/${theirs.id}?start_date=${DAY}&end_date=${DAY}`, key);
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ data: { success: false } });
    expect((await get(sim, `/api/warmup/sender-emails/${mine.id}`, key)).status).toBe(422);
  });
});

describe('warmup figures set by a test', () => {
  it('POST /_sim/warmup sets an account’s figures for a day; the other figures and days stay seeded', async () => {
    const sim = await instance();
    const id = sim.truth(A)[2].id;
    const before = sim.warmupTruth(A, DAY)[2];
    const set = await fetch(`${sim.url}/_sim/warmup`, {
      method: 'POST',
      body: JSON.stringify({ account: id, day: DAY, warmup_score: 31, warmup_disabled_for_bouncing_count: 1 }),
    });

    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ data: { ...before, warmup_score: 31, warmup_disabled_for_bouncing_count: 1 } });
    expect(sim.warmupTruth(A, DAY)[2]).toEqual({ ...before, warmup_score: 31, warmup_disabled_for_bouncing_count: 1 });
    const fresh = await instance();
    expect(sim.warmupTruth(A, '2026-12-03')).toEqual(fresh.warmupTruth(A, '2026-12-03'));
  });

  it.each([
    [{ day: DAY, warmup_score: 3 }],
    [{ account: 1, day: '2026-13-01', warmup_score: 3 }],
    [{ account: 1, day: DAY, warmup_score: 101 }],
    [{ account: 1, day: DAY }],
    [{ account: 1, day: DAY, warmup_scroe: 3 }],
  ])('POST /_sim/warmup answers 400 for %j', async (body) => {
    const sim = await instance();
    const response = await fetch(`${sim.url}/_sim/warmup`, { method: 'POST', body: JSON.stringify(body) });
    expect(response.status).toBe(400);
  });
});

describe('warmup routes under faults', () => {
  it('share the instance’s limiter with the account list', async () => {
    const sim = await instance({ rateLimit: { requests: 2, windowSeconds: 60 } });
    const key = keyOf(sim, A);
    expect((await get(sim, '/api/sender-emails', key)).status).toBe(200);
    expect((await get(sim, LIST, key)).status).toBe(200);
    const throttled = await get(sim, LIST, key);

    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(50);
  });

  it('answer the workspace’s faults page by page: 5xx, malformed and missing meta', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    sim.setFaults(A, { failFromPage: { page: 3, status: 503, times: 1 }, malformedPages: [2], malformedTimes: 1, missingMetaPages: [1] });

    const one = await get(sim, `${LIST}&page=1`, key);
    expect(one.status).toBe(200);
    expect(Object.keys((await one.json()) as object)).toEqual(['data', 'links']);
    const two = await get(sim, `${LIST}&page=2`, key);
    expect(two.status).toBe(200);
    await expect(two.json()).rejects.toThrow();
    expect((await get(sim, `${LIST}&page=3`, key)).status).toBe(503);
    expect((await get(sim, `${LIST}&page=3`, key)).status).toBe(200);
    expect(((await (await get(sim, `${LIST}&page=2`, key)).json()) as WarmupPage).data).toHaveLength(15);
  });

  it('answer 404 on an instance without them (setWarmupRoute(false)), the account routes unchanged', async () => {
    const sim = await instance({ warmupRoute: false });
    const key = keyOf(sim, A);
    expect((await get(sim, LIST, key)).status).toBe(404);
    expect((await get(sim, `/api/warmup/sender-emails/${sim.truth(A)[0].id}?start_date=${DAY}&end_date=${DAY}`, key)).status).toBe(404);
    expect((await get(sim, '/api/sender-emails', key)).status).toBe(200);
    sim.setWarmupRoute(true);
    expect((await get(sim, LIST, key)).status).toBe(200);
  });

  it('logs each warmup request with its dates and page mode, never the key', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    await get(sim, `${LIST}&page=2`, key);
    const [entry] = sim.requestLog();

    expect(entry).toMatchObject({
      path: '/api/warmup/sender-emails',
      query: { start_date: DAY, end_date: DAY, page: '2' },
      workspace: A,
      status: 200,
      pagination: 'page',
    });
    expect(JSON.stringify(sim.requestLog())).not.toContain(key);
  });
});
