import { afterEach, describe, expect, it, vi } from 'vitest';
import { deadBaseUrl, startEmailBisonSim, type EmailBisonSim, type RawSenderEmail, type SimOptions } from '../../../sim/server';

/** EmailBison as it answers in late 2026 (DESIGN.md "What changed by late 2026"), over real HTTP. */

const started: EmailBisonSim[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

/** Three workspaces of 40 accounts (3 pages each), with whatever instance options the test sets. */
async function instance(options: Partial<SimOptions> = {}): Promise<EmailBisonSim> {
  const sim = await startEmailBisonSim({ scenario: 'grid:3:40', ...options });
  started.push(sim);
  return sim;
}

const A = 'Acme Outbound';
const B = 'Brightwave Outbound';

interface Body {
  data: RawSenderEmail[];
  links: Record<string, string | null>;
  meta: Record<string, unknown>;
}

function keyOf(sim: EmailBisonSim, workspace: string): string {
  return sim.workspaces().find((candidate) => candidate.name === workspace)!.apiKey;
}

function get(sim: EmailBisonSim, path: string, key: string | undefined, init: RequestInit = {}) {
  return fetch(path.startsWith('http') ? path : `${sim.url}${path}`, { ...init, headers: key ? { authorization: `Bearer ${key}` } : {} });
}

async function body<T = Body>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

/** Follows next_cursor, sending pagination_type=cursor every time, as a correct client does. */
async function walkCursors(sim: EmailBisonSim, key: string): Promise<{ ids: number[]; requests: number }> {
  const ids: number[] = [];
  let cursor: string | null = null;
  let requests = 0;
  do {
    const query: string = `pagination_type=cursor${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await body(get(sim, `/api/sender-emails?${query}`, key));
    requests += 1;
    ids.push(...page.data.map((account) => account.id));
    cursor = page.meta.next_cursor as string | null;
  } while (cursor !== null);
  return { ids, requests };
}

const descendingIds = (accounts: RawSenderEmail[]) => accounts.map((account) => account.id).reverse();

describe('cursor pagination', () => {
  it('cursor-only: every answer is a cursor page, newest id first, whatever page is asked for', async () => {
    const sim = await instance({ pagination: 'cursor-only' });
    const key = keyOf(sim, A);
    const asked = await get(sim, '/api/sender-emails?page=2', key);
    const page = await body(asked);
    const path = `${sim.url}/api/sender-emails`;

    expect(asked.status).toBe(200);
    expect(Object.keys(page)).toEqual(['data', 'links', 'meta']);
    expect(page.data).toEqual(sim.truth(A).reverse().slice(0, 15));
    expect(page.meta).toEqual({ path, per_page: 15, next_cursor: expect.any(String), prev_cursor: null });
    expect(page.links).toEqual({ first: null, last: null, prev: null, next: `${path}?cursor=${page.meta.next_cursor}` });
    expect(JSON.parse(Buffer.from(page.meta.next_cursor as string, 'base64url').toString())).toEqual({
      id: page.data[14].id,
      _pointsToNextItems: true,
    });
    expect(await walkCursors(sim, key)).toEqual({ ids: descendingIds(sim.truth(A)), requests: 3 });
  });

  it('cursor-default: cursors without a page parameter, the old page shape (with total) behind an explicit page', async () => {
    const sim = await instance({ pagination: 'cursor-default' });
    const key = keyOf(sim, A);

    const plain = await body(get(sim, '/api/sender-emails', key));
    const paged = await body(get(sim, '/api/sender-emails?page=2', key));
    const forced = await body(get(sim, '/api/sender-emails?page=2&pagination_type=cursor', key));

    expect(Object.keys(plain.meta)).toEqual(['path', 'per_page', 'next_cursor', 'prev_cursor']);
    expect(paged.meta).toMatchObject({ current_page: 2, last_page: 3, total: 40 });
    expect(paged.data).toEqual(sim.truth(A).slice(15, 30));
    expect(forced.meta).not.toHaveProperty('total');
    expect(await walkCursors(sim, key)).toMatchObject({ ids: descendingIds(sim.truth(A)) });
  });

  it('links.next drops pagination_type: on a page-default instance, following it blindly falls back to page 1', async () => {
    const sim = await instance({ pagination: 'page' });
    const key = keyOf(sim, A);
    const first = await body(get(sim, '/api/sender-emails?pagination_type=cursor', key));
    const followed = await body(get(sim, first.links.next!, key));

    expect(first.links.next).not.toContain('pagination_type');
    expect(first.data[0].id).toBe(sim.truth(A).at(-1)!.id);
    expect(followed.meta).toMatchObject({ current_page: 1, total: 40 });
  });

  it('page-only: an instance from before cursors ignores pagination_type', async () => {
    const sim = await instance({ pagination: 'page-only' });
    const page = await body(get(sim, '/api/sender-emails?pagination_type=cursor', keyOf(sim, A)));

    expect(page.meta).toMatchObject({ current_page: 1, total: 40 });
  });

  it('serves the first page for a cursor it cannot read (Laravel), or 422 when told to validate it', async () => {
    const sim = await instance({ pagination: 'cursor-only' });
    const key = keyOf(sim, A);
    const lenient = await body(get(sim, '/api/sender-emails?cursor=garbage', key));
    sim.setInvalidCursor('reject');
    const strict = await get(sim, '/api/sender-emails?cursor=garbage', key);

    expect(lenient.data[0].id).toBe(sim.truth(A).at(-1)!.id);
    expect(strict.status).toBe(422);
    expect(await strict.json()).toEqual({ message: 'The cursor is invalid.', errors: { cursor: ['The cursor is invalid.'] } });
  });

  it("switches the instance's default mode after N list requests, mid-walk", async () => {
    const sim = await instance({ pagination: 'page' });
    const key = keyOf(sim, A);
    sim.setPagination('cursor-default', { afterRequests: 2 });

    const first = await body(get(sim, '/api/sender-emails', key));
    const second = await body(get(sim, '/api/sender-emails?page=2', key));
    const third = await body(get(sim, '/api/sender-emails?page=3', key));
    const fourth = await body(get(sim, '/api/sender-emails', key));

    expect(first.meta.current_page).toBe(1);
    expect(second.meta.current_page).toBe(2);
    expect(third.meta.current_page).toBe(3); // an explicit page is still honoured by cursor-default
    expect(fourth.meta).toHaveProperty('next_cursor');
    expect(sim.pagination()).toBe('cursor-default');
    expect(sim.requestLog().map((entry) => entry.pagination)).toEqual(['page', 'page', 'page', 'cursor']);
  });

  it("matches page faults to the cursor page's ordinal in the walk", async () => {
    const sim = await instance({ pagination: 'cursor-only' });
    const key = keyOf(sim, A);
    sim.setFaults(A, { failFromPage: { page: 2, status: 503, times: 1 } });
    const first = await body(get(sim, '/api/sender-emails', key));
    const failed = await get(sim, first.links.next!, key);
    const retried = await get(sim, first.links.next!, key);

    expect(failed.status).toBe(503);
    expect(retried.status).toBe(200);
  });
});

describe('per_page', () => {
  it('is ignored by default; where honoured (up to 100), page links drop it, so following them blindly shifts the pages', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    const ignored = await body(get(sim, '/api/sender-emails?per_page=25', key));
    sim.setHonourPerPage(true);
    const honoured = await body(get(sim, '/api/sender-emails?per_page=25', key));
    const followed = await body(get(sim, honoured.links.next!, key));
    const capped = await body(get(sim, '/api/sender-emails?per_page=500&pagination_type=cursor', key));

    expect(ignored.data).toHaveLength(15);
    expect(honoured.data).toEqual(sim.truth(A).slice(0, 25));
    expect(honoured.meta).toMatchObject({ per_page: 25, last_page: 2 });
    expect(honoured.links.next).toBe(`${sim.url}/api/sender-emails?page=2`);
    expect(followed.data).toEqual(sim.truth(A).slice(15, 30));
    expect(capped.data).toHaveLength(40);
    expect(capped.meta).toMatchObject({ per_page: 100, next_cursor: null });
  });
});

describe('page cap', () => {
  it("answers 422 in Laravel's validation shape past the cap, telling the client to use cursors", async () => {
    const sim = await instance({ pageCap: 2 });
    const key = keyOf(sim, A);
    const capped = await get(sim, '/api/sender-emails?page=3', key);
    const capBody = await body<{ message: string; errors: { page: string[] } }>(capped);

    expect((await get(sim, '/api/sender-emails?page=2', key)).status).toBe(200);
    expect(capped.status).toBe(422);
    expect(capBody.message).toMatch(/must not be greater than 2.*cursor/);
    expect(capBody.errors.page).toEqual([capBody.message]);
    expect((await get(sim, '/api/sender-emails?page=3&pagination_type=cursor', key)).status).toBe(200);
    sim.setPageCap(undefined);
    expect((await get(sim, '/api/sender-emails?page=3', key)).status).toBe(200);
  });
});

describe('the instance rate limiter', () => {
  it('counts every workspace and key together in a fixed window, sends X-RateLimit-*, and 429s past it without counting the 429s', async () => {
    let now = 1_000_000;
    const sim = await instance({ rateLimit: { requests: 3, windowSeconds: 2 }, now: () => now });
    const answers: Response[] = [];
    for (const workspace of [A, B, A, B, A]) {
      answers.push(await get(sim, '/api/sender-emails', keyOf(sim, workspace)));
      now += 100;
    }

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429]);
    expect(answers.slice(0, 3).map((answer) => answer.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0']);
    expect(answers[0].headers.get('x-ratelimit-limit')).toBe('3');
    expect(answers[3].headers.get('retry-after')).toBe('2');
    expect(answers[4].headers.get('retry-after')).toBe('2');
    expect(await answers[4].json()).toEqual({ message: 'Too Many Attempts.' });
    expect(sim.requestLog().map((entry) => entry.rateLimited)).toEqual([false, false, false, true, true]);

    now += 1_600; // 2 s after the window opened
    const next = await get(sim, '/api/sender-emails', keyOf(sim, B));
    expect(next.status).toBe(200);
    expect(next.headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('sends no rate-limit headers when the limiter is off, and can be turned on and off at runtime', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    expect((await get(sim, '/api/sender-emails', key)).headers.get('x-ratelimit-limit')).toBeNull();
    sim.setRateLimit({ requests: 1, windowSeconds: 60 });
    await get(sim, '/api/sender-emails', key);
    expect((await get(sim, '/api/sender-emails', key)).status).toBe(429);
    sim.setRateLimit(undefined);
    expect((await get(sim, '/api/sender-emails', key)).status).toBe(200);
  });
});

describe('keys and the workspace they are bound to', () => {
  it('answers a record of another workspace 403, its own 200, an unknown one 404', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    const own = sim.truth(A)[0];
    const others = sim.truth(B)[0];

    const mine = await get(sim, `/api/sender-emails/${own.id}`, key);
    const theirs = await get(sim, `/api/sender-emails/${others.id}`, key);
    const nobody = await get(sim, '/api/sender-emails/1', key);

    expect(await mine.json()).toEqual({ data: own });
    expect(theirs.status).toBe(403);
    expect(await theirs.json()).toEqual({
      data: { success: false, message: 'This action is unauthorized. The api key does not match the workspace the record is on.' },
    });
    expect(nobody.status).toBe(404);
    expect(await nobody.json()).toMatchObject({ data: { success: false, record_not_found: true } });
  });

  it('a key bound to another workspace lists that workspace (any workspace_id is ignored) and /api/users names it', async () => {
    const sim = await instance();
    const aKey = keyOf(sim, A);
    sim.bindKey(aKey, B);

    const listed = await body(get(sim, `/api/sender-emails?page=1&workspace_id=1`, aKey));
    const user = await body<{ data: { workspace: { id: number; name: string } } }>(get(sim, '/api/users', aKey));
    const ownRecord = await get(sim, `/api/sender-emails/${sim.truth(A)[0].id}`, aKey);

    expect(sim.keyBinding(aKey)).toBe(B);
    expect(listed.data).toEqual(sim.truth(B).slice(0, 15));
    expect(user.data.workspace).toMatchObject({ id: 2, name: B });
    expect(ownRecord.status).toBe(403);
    expect(sim.requestLog()[0]).toMatchObject({ workspace: B, workspaceId: 2 });
  });

  it('mints extra keys for a workspace and revokes them', async () => {
    const sim = await instance();
    const minted = sim.mintKey(B);

    expect(minted).not.toBe(keyOf(sim, B));
    expect((await body(get(sim, '/api/sender-emails', minted))).data).toEqual(sim.truth(B).slice(0, 15));
    sim.revokeKey(minted);
    expect((await get(sim, '/api/sender-emails', minted)).status).toBe(401);
    expect((await get(sim, '/api/sender-emails', keyOf(sim, B))).status).toBe(200);
  });

  it('/api/users returns the user and the bound workspace with secret-looking fields, or 404 where the instance does not serve it', async () => {
    const sim = await instance();
    const user = await body<{ data: Record<string, unknown> & { workspace: Record<string, unknown> } }>(
      get(sim, '/api/users', keyOf(sim, A)),
    );
    const secrets = sim.workspaceSecrets(A);

    expect(user.data).toMatchObject({
      id: expect.any(Number),
      name: expect.any(String),
      email: expect.any(String),
      workspace: { id: 1, name: A },
    });
    expect(secrets).toHaveLength(3);
    expect(Object.values(user.data.workspace)).toEqual(expect.arrayContaining(secrets));
    sim.setUsersRoute(false);
    expect((await get(sim, '/api/users', keyOf(sim, A))).status).toBe(404);
  });
});

describe('failures that are not plain status codes', () => {
  it('answers HTTP 200 with data.success false for the next N list requests', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    sim.setFaults(A, { successFalse: { message: 'Workspace is being migrated.', times: 2 } });
    const answers = [
      await get(sim, '/api/sender-emails', key),
      await get(sim, '/api/sender-emails', key),
      await get(sim, '/api/sender-emails', key),
    ];

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(await answers[0].json()).toEqual({ data: { success: false, message: 'Workspace is being migrated.' } });
    expect(await answers[1].json()).toEqual({ data: { success: false, message: 'Workspace is being migrated.' } });
    expect((await body(answers[2])).data).toHaveLength(15);
  });

  it("answers a proxy's HTML error page", async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    sim.setFaults(A, { htmlErrorPage: { times: 1 } });
    const html = await get(sim, '/api/sender-emails', key);

    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toBe('text/html');
    expect(await html.text()).toContain('<title>502 Bad Gateway</title>');
    expect((await get(sim, '/api/sender-emails', key)).status).toBe(200);
  });
});

describe('an unreachable instance', () => {
  it('deadBaseUrl() refuses connections', async () => {
    const url = await deadBaseUrl();
    const error = await fetch(`${url}/api/users`).catch((caught: Error) => caught);

    expect(error).toBeInstanceOf(Error);
    expect(((error as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('refuses connections while told to, then serves again on the same URL', async () => {
    const sim = await instance();
    const key = keyOf(sim, A);
    await sim.setUnreachable('refuse');
    const refused = await get(sim, '/api/sender-emails', key).catch((caught: Error) => caught);
    await sim.setUnreachable(false);

    expect(((refused as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect((await get(sim, '/api/sender-emails', key)).status).toBe(200);
  });

  it('hangs: accepts the request and never answers, until the client gives up', async () => {
    const sim = await instance({ unreachable: 'hang' });
    const hung = await get(sim, '/api/sender-emails', keyOf(sim, A), { signal: AbortSignal.timeout(300) }).catch((caught: Error) => caught);

    expect((hung as Error).name).toBe('TimeoutError');
    const log = sim.requestLog();
    expect(log).toEqual([expect.objectContaining({ path: '/api/sender-emails', workspace: A })]);
    expect(log[0].status).toBeUndefined();
    await vi.waitFor(() => expect(sim.counters().inFlight).toBe(0));
  });
});

describe('the request log', () => {
  it("records each request's time, method, path, query without any key, workspace, status and pagination", async () => {
    const sim = await instance({ pagination: 'cursor-default' });
    const key = keyOf(sim, A);
    const before = performance.timeOrigin + performance.now();
    await get(sim, `/api/sender-emails?page=2&api_token=${key}&api_key=${key}`, key);
    await get(sim, '/api/users', 'not-a-key');
    const log = sim.requestLog();

    expect(log).toEqual([
      expect.objectContaining({
        seq: 1,
        method: 'GET',
        path: '/api/sender-emails',
        query: { page: '2' },
        workspace: A,
        workspaceId: 1,
        status: 200,
        rateLimited: false,
        pagination: 'page',
      }),
      expect.objectContaining({ seq: 2, path: '/api/users', query: {}, workspace: undefined, status: 401 }),
    ]);
    expect(log[0].atMs).toBeGreaterThanOrEqual(before - 1);
    expect(log[1].atMs).toBeGreaterThanOrEqual(log[0].atMs);
    expect(log[0].endedAtMs).toBeGreaterThanOrEqual(log[0].atMs);
    expect(JSON.stringify(log)).not.toContain(key);

    sim.resetCounters();
    expect(sim.requestLog()).toEqual([]);
  });
});
