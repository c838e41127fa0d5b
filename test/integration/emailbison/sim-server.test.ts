import { describe, expect, it } from 'vitest';
import { startEmailBisonSim, type RawSenderEmail } from '../../../sim/server';
import { keyOf, seedSim } from './fixtures';

const sim = await seedSim();

interface PageBody {
  data: RawSenderEmail[];
  links: Record<string, string | null>;
  meta: Record<string, unknown>;
}

async function json<T>(response: Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

function get(path: string, workspace?: string) {
  const headers: Record<string, string> = workspace ? { authorization: `Bearer ${keyOf(sim, workspace)}` } : {};
  return fetch(`${sim.url}${path}`, { headers });
}

describe('the simulated EmailBison API', () => {
  it('serves pages of 15 whatever per_page asks for, in the Laravel paginated shape', async () => {
    const response = await get('/api/sender-emails?page=2&per_page=100', 'Acme Outbound');
    const body = (await response.json()) as PageBody;
    const path = `${sim.url}/api/sender-emails`;

    expect(response.status).toBe(200);
    expect(body.data).toEqual(sim.truth('Acme Outbound').slice(15, 30));
    expect(body.links).toEqual({ first: `${path}?page=1`, last: `${path}?page=13`, prev: `${path}?page=1`, next: `${path}?page=3` });
    expect(body.meta).toEqual({ current_page: 2, from: 16, last_page: 13, per_page: 15, to: 30, total: 187, path });
  });

  it('serves an empty page past the end, and page 1 for a missing or nonsensical page', async () => {
    const past = await json<PageBody>(get('/api/sender-emails?page=99', 'Acme Outbound'));
    const nonsense = await json<PageBody>(get('/api/sender-emails?page=abc', 'Acme Outbound'));

    expect(past).toMatchObject({ data: [], links: { next: null }, meta: { current_page: 99, from: null, to: null, last_page: 13 } });
    expect(nonsense.meta.current_page).toBe(1);
  });

  it('answers 401 without a key, with an unknown key, and for a workspace whose key is rejected', async () => {
    sim.setFaults('Kestrel Ventures', { rejectKey: true });

    expect((await get('/api/sender-emails')).status).toBe(401);
    expect((await fetch(`${sim.url}/api/sender-emails`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect(await (await get('/api/sender-emails', 'Kestrel Ventures')).json()).toEqual({ message: 'Unauthenticated.' });
    expect((await get('/api/sender-emails', 'Dunmore Legal')).status).toBe(200);
  });

  it("serves the key's own workspace and user, and 404 for unknown paths", async () => {
    const workspaces = await json<{ data: unknown[] }>(get('/api/workspaces/v1.1', 'Zürich Data Partners'));
    const user = await json<{ data: { workspace: unknown } }>(get('/api/users', 'Zürich Data Partners'));

    expect(workspaces.data).toEqual([expect.objectContaining({ id: 26, name: 'Zürich Data Partners' })]);
    expect(user.data.workspace).toMatchObject({ id: 26, name: 'Zürich Data Partners' });
    expect((await get('/api/v2/sender-emails', 'Zürich Data Partners')).status).toBe(404);
  });

  it('applies faults set for "*" to every workspace until cleared', async () => {
    sim.setFaults('*', { serverErrorFraction: 1 });
    expect((await get('/api/sender-emails', 'Acme Outbound')).status).toBeGreaterThanOrEqual(500);
    expect((await get('/api/sender-emails', 'Pioneer Freight')).status).toBeGreaterThanOrEqual(500);

    sim.clearFaults();
    expect((await get('/api/sender-emails', 'Pioneer Freight')).status).toBe(200);
  });

  it('sends Retry-After as seconds, as an HTTP date, or in the body', async () => {
    sim.setFaults('Acme Outbound', { rateLimitFraction: 1, retryAfterSeconds: 7 });
    const seconds = await get('/api/sender-emails', 'Acme Outbound');
    sim.setFaults('Acme Outbound', { rateLimitFraction: 1, retryAfterSeconds: 7, retryAfterAsDate: true });
    const date = await get('/api/sender-emails', 'Acme Outbound');
    sim.setFaults('Acme Outbound', { rateLimitFraction: 1, retryAfterSeconds: 7, retryAfterInBody: true });
    const body = await get('/api/sender-emails', 'Acme Outbound');

    expect([seconds.status, date.status, body.status]).toEqual([429, 429, 429]);
    expect(seconds.headers.get('retry-after')).toBe('7');
    expect(Date.parse(date.headers.get('retry-after')!) - Date.now()).toBeGreaterThan(5_000);
    expect(await body.json()).toEqual({ error: 'rate_limited', retry_after: 7 });
  });

  it('counts requests per workspace and overall, by status', async () => {
    await get('/api/sender-emails', 'Acme Outbound');
    await get('/api/sender-emails', 'Acme Outbound');
    await get('/api/users', 'Lumen Dental Group');
    await get('/api/sender-emails');

    expect(sim.counters('Acme Outbound')).toEqual({ requests: 2, peakConcurrent: 1, inFlight: 0, byStatus: { 200: 2 } });
    expect(sim.counters()).toMatchObject({ requests: 4, inFlight: 0, byStatus: { 200: 3, 401: 1 } });
  });

  it('changes its data when told, and truth() says exactly what it serves', async () => {
    const before = sim.truth('Evergreen Solar');
    const removed = sim.removeAccounts('Evergreen Solar', 5);
    const added = sim.addAccounts('Evergreen Solar', 2);
    const updated = sim.updateAccounts('Evergreen Solar', 3);
    const after = sim.truth('Evergreen Solar');

    expect(after).toHaveLength(before.length - 5 + 2);
    expect(after.map((account) => account.id)).toEqual([...after.map((account) => account.id)].sort((a, b) => a - b));
    expect(after.slice(-2)).toEqual(added);
    expect(Math.min(...added.map((account) => account.id))).toBeGreaterThan(Math.max(...before.map((account) => account.id)));
    expect(after.filter((account) => removed.some((gone) => gone.id === account.id))).toEqual([]);
    for (const account of updated) {
      const old = before.find((candidate) => candidate.id === account.id);
      if (old) expect(account.emails_sent_count).toBeGreaterThan(old.emails_sent_count);
    }
    const lastPage = Math.ceil(after.length / 15);
    const served = await json<PageBody>(get(`/api/sender-emails?page=${lastPage}`, 'Evergreen Solar'));
    expect(served.data).toEqual(after.slice((lastPage - 1) * 15));
    expect(sim.workspaces().find((workspace) => workspace.name === 'Evergreen Solar')?.total).toBe(after.length);
  });

  it('closes promptly while a request is held forever', async () => {
    const other = await startEmailBisonSim({ scenario: 'grid:1:20' });
    const [workspace] = other.workspaces();
    other.setFaults(workspace.name, { hangPages: [1] });
    const held = fetch(`${other.url}/api/sender-emails`, { headers: { authorization: `Bearer ${workspace.apiKey}` } }).catch(
      (error) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(other.counters(workspace.name).inFlight).toBe(1);

    // A close that waited for the held request would never end: the 10 s timeout catches that hang.
    await other.close();
    expect(await held).toBeInstanceOf(Error);
  }, 10_000);
});
