import { inspect } from 'node:util';
import { MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmailBisonClient, type EmailBisonClientOptions, type SenderEmailPage } from '../../../lambdas/emailbison/client';

const ORIGIN = 'https://send.example.com';
const KEY = 'sentinel-KEY-7f3a9c-do-not-print';
const agents: MockAgent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
});

function mockEmailBison() {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const pool = agent.get(ORIGIN);
  const reply = (page: number, status: number, body: unknown, headers: Record<string, string> = {}) =>
    pool
      .intercept({ path: `/api/sender-emails?page=${page}`, method: 'GET' })
      .reply(status, typeof body === 'string' ? body : JSON.stringify(body), {
        headers: { 'content-type': 'application/json', ...headers },
      });
  return { agent, pool, reply };
}

/** A page of `count` accounts numbered from `firstId`. */
function page(
  number: number,
  options: { lastPage: number; total?: number; firstId?: number; count?: number; next?: boolean; currentPage?: number },
) {
  const count = options.count ?? 15;
  const firstId = options.firstId ?? (number - 1) * 15 + 1;
  return {
    data: Array.from({ length: count }, (_, index) => ({ id: firstId + index, email: `sender${firstId + index}@example.com` })),
    links: { next: (options.next ?? number < options.lastPage) ? `${ORIGIN}/api/sender-emails?page=${number + 1}` : null },
    meta: { current_page: options.currentPage ?? number, last_page: options.lastPage, total: options.total ?? options.lastPage * 15 },
  };
}

function clientWith(agent: MockAgent, overrides: Partial<EmailBisonClientOptions> = {}) {
  return createEmailBisonClient({
    workspace: 'Acme Outbound',
    baseUrl: ORIGIN,
    apiKey: KEY,
    dispatcher: agent,
    baseBackoffMs: 1,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms / 100);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
    ...overrides,
  });
}

async function readAll(client: ReturnType<typeof createEmailBisonClient>) {
  const pages: SenderEmailPage[] = [];
  try {
    for await (const step of client.listSenderEmails()) if (step.kind === 'page') pages.push(step);
    return { pages, error: undefined };
  } catch (error) {
    return { pages, error };
  }
}

describe('createEmailBisonClient', () => {
  it('sends the key as a Bearer token and asks for JSON', async () => {
    const { agent, pool } = mockEmailBison();
    pool
      .intercept({
        path: '/api/sender-emails?page=1',
        method: 'GET',
        headers: { authorization: `Bearer ${KEY}`, accept: 'application/json' },
      })
      .reply(200, page(1, { lastPage: 1 }));

    await expect(clientWith(agent).checkKey()).resolves.toEqual({ total: 15 });
  });

  it('follows links.next past a meta.last_page that undercounts', async () => {
    const { agent, reply } = mockEmailBison();
    reply(1, 200, page(1, { lastPage: 2 }));
    reply(2, 200, page(2, { lastPage: 2, next: true }));
    reply(3, 200, page(3, { lastPage: 2, count: 4, next: false }));
    const { pages, error } = await readAll(clientWith(agent));

    expect(error).toBeUndefined();
    expect(pages.map((each) => [each.page, each.items.length])).toEqual([
      [1, 15],
      [2, 15],
      [3, 4],
    ]);
  });

  it('treats a page that says it is another page as malformed', async () => {
    const { agent, reply } = mockEmailBison();
    reply(1, 200, page(1, { lastPage: 1, currentPage: 2 })).times(2);
    const { error } = await readAll(clientWith(agent, { maxAttempts: 2 }));

    expect(error).toMatchObject({ code: 'SS_EMAILBISON_MALFORMED_PAGE', page: 1 });
    expect((error as Error).message).toContain('meta.current_page is 2, not the page asked for');
  });

  it("makes the workspace's next page requests wait out a 429 that another page got", async () => {
    const { agent, reply } = mockEmailBison();
    reply(1, 200, page(1, { lastPage: 5 }));
    reply(2, 200, page(2, { lastPage: 5 })).delay(40);
    reply(3, 429, { message: 'Too Many Attempts.' }, { 'retry-after': '5' });
    reply(3, 200, page(3, { lastPage: 5 }));
    reply(4, 200, page(4, { lastPage: 5 }));
    reply(5, 200, page(5, { lastPage: 5 }));
    const waits: number[] = [];
    const client = clientWith(agent, {
      pageConcurrency: 3,
      sleep: (ms) => {
        waits.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms / 100));
      },
    });
    const { pages } = await readAll(client);

    expect(pages.map((each) => each.page)).toEqual([1, 2, 3, 4, 5]);
    // Page 3's retry and page 5 (started once page 2 arrived, 40 ms in) both waited at the gate.
    expect(waits.filter((ms) => ms > 4_000)).toHaveLength(2);
    expect(client.stats).toMatchObject({ requests: 6, retries: 1, rateLimitWaitMs: 5_000 });
  });

  it('retries a dropped connection', async () => {
    const { agent, pool, reply } = mockEmailBison();
    pool
      .intercept({ path: '/api/sender-emails?page=1', method: 'GET' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    reply(1, 200, page(1, { lastPage: 1 }));
    const client = clientWith(agent);

    expect((await readAll(client)).pages).toHaveLength(1);
    expect(client.stats).toMatchObject({ requests: 2, retries: 1 });
  });

  it.each([401, 403])('fails fast on %i with RejectedApiKeyError, no retry', async (status) => {
    const { agent, reply } = mockEmailBison();
    reply(1, status, { message: 'Unauthenticated.' });
    const client = clientWith(agent);
    const error = await client.checkKey().catch((caught) => caught);

    expect(error).toMatchObject({
      name: 'RejectedApiKeyError',
      code: 'SS_EMAILBISON_KEY_REJECTED',
      workspace: 'Acme Outbound',
      retryable: false,
      status,
    });
    expect(error.message).toContain('workspace "Acme Outbound"');
    expect(client.stats).toMatchObject({ requests: 1, retries: 0 });
  });

  it('says the base URL looks wrong on 404', async () => {
    const { agent, reply } = mockEmailBison();
    reply(1, 404, { message: 'Not Found' });
    const error = await clientWith(agent)
      .checkKey()
      .catch((caught) => caught);

    expect(error).toMatchObject({ name: 'BaseUrlNotFoundError', code: 'SS_EMAILBISON_NOT_FOUND', origin: ORIGIN });
    expect(error.message).toBe(
      'EmailBison at https://send.example.com answered 404 for /api/sender-emails (workspace "Acme Outbound"); the base URL looks wrong: it should be the instance host, without /api',
    );
  });

  it('rejects options it cannot use, naming each', () => {
    const build = (overrides: Partial<EmailBisonClientOptions>) => () =>
      createEmailBisonClient({ workspace: 'W', baseUrl: ORIGIN, apiKey: KEY, ...overrides });

    expect(build({ pageConcurrency: 0, maxAttempts: 1.5 })).toThrow(
      'EmailBison client options for workspace "W": pageConcurrency must be an integer from 1 to 20; maxAttempts must be an integer from 1 to 20',
    );
    expect(build({ baseUrl: 'send.example.com' })).toThrow(expect.objectContaining({ code: 'SS_CONFIG_INVALID' }));
    expect(build({ baseUrl: 'ftp://send.example.com' })).toThrow('must be http(s)');
    expect(build({ apiKey: ' ' })).toThrow('the EmailBison API key of workspace "W" is empty');
    expect(build({ apiKey: `${KEY}\u0000x` })).toThrow(
      expect.objectContaining({ code: 'SS_CONFIG_INVALID', message: expect.not.stringContaining(KEY) }),
    );
  });

  it('trims the newline a stored secret often ends with', async () => {
    const { agent, pool } = mockEmailBison();
    pool
      .intercept({ path: '/api/sender-emails?page=1', method: 'GET', headers: { authorization: `Bearer ${KEY}` } })
      .reply(200, page(1, { lastPage: 1 }));

    await expect(clientWith(agent, { apiKey: `${KEY}\n` }).checkKey()).resolves.toEqual({ total: 15 });
  });
});

describe('the API key', () => {
  const echo = `{"error":"bad","authorization":"Bearer ${KEY}"`; // a server that echoes the request

  it.each([
    ['a rejected key', (reply: ReturnType<typeof mockEmailBison>['reply']) => reply(1, 401, echo)],
    ['a wrong base URL', (reply: ReturnType<typeof mockEmailBison>['reply']) => reply(1, 404, echo)],
    ['an unexpected status', (reply: ReturnType<typeof mockEmailBison>['reply']) => reply(1, 400, echo)],
    ['a malformed page', (reply: ReturnType<typeof mockEmailBison>['reply']) => reply(1, 200, echo).times(2)],
    ['a server that stays down', (reply: ReturnType<typeof mockEmailBison>['reply']) => reply(1, 503, echo).times(2)],
  ])('never appears in the error for %s, however it is printed', async (_, arrange) => {
    const { agent, reply } = mockEmailBison();
    arrange(reply);
    const client = clientWith(agent, { maxAttempts: 2 });
    const error = await client.checkKey().catch((caught) => caught);

    expect(error.workspace).toBe('Acme Outbound');
    const printed = [
      String(error),
      error.stack,
      inspect(error, { depth: Infinity }),
      JSON.stringify(error),
      JSON.stringify(client.stats),
    ].join('\n');
    expect(printed).toContain('Acme Outbound');
    expect(printed).not.toContain(KEY);
    expect(printed).not.toContain('7f3a9c');
  });
});
