import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestEventLogPage } from '../../../lambdas/emailbison/event-log';
import { type EmailBisonSim, startEmailBisonSim } from '../../../sim/server';

/*
 * The simulator's event log (sim/event-log.ts) over HTTP, and the client's page request
 * (lambdas/emailbison/event-log.ts) against it: shapes, the 422 for one date alone, cursor
 * paging newest first, the key's workspace only, 404 when the instance has none, faults.
 */
let sim: EmailBisonSim;
const A = 'Dunmore Legal';
const B = 'Cedar & Pine Realty';
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'seed-2025' });
});
afterAll(() => sim.close());

const keyOf = (name: string) => sim.workspaces().find((w) => w.name === name)!.apiKey;
async function get(name: string, query: string) {
  const response = await fetch(`${sim.url}/api/events${query}`, { headers: { authorization: `Bearer ${keyOf(name)}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the simulator event log', () => {
  it('records each change made without a webhook, shaped as the delivery, and serves the key workspace only', async () => {
    const accounts = sim.truth(A).filter((a) => a.status === 'Connected');
    for (const account of accounts.slice(0, 17)) await sim.changeAccount(account.id, 'disconnect', { webhooks: false });
    await sim.addAccountWithEvent(B, { webhooks: false });
    expect(sim.webhookDeliveries()).toEqual([]);

    const first = await get(A, `?pagination_type=cursor&start_date=${today}&end_date=${today}`);
    expect(first.status).toBe(200);
    const data = first.body.data as { id: number; uuid: string; payload: any; webhook_deliveries: unknown[]; created_at: string }[];
    expect(data).toHaveLength(15);
    expect(data[0].id).toBeGreaterThan(data[1].id); // newest first
    expect(data[0].payload.event).toMatchObject({ type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_name: A, instance_url: sim.url });
    expect(data[0].payload.data.sender_email).toMatchObject({ status: 'Not connected' });
    expect(data[0].webhook_deliveries).toEqual([]);
    const meta = first.body.meta as { next_cursor: string; per_page: number };
    expect(meta.per_page).toBe(15);
    const second = await get(A, `?pagination_type=cursor&start_date=${today}&end_date=${today}&cursor=${meta.next_cursor}`);
    expect((second.body.data as unknown[]).length).toBe(2);
    expect((second.body.meta as { next_cursor: unknown }).next_cursor).toBeNull();

    const other = await get(B, `?pagination_type=cursor&start_date=${today}&end_date=${today}`);
    expect((other.body.data as { payload: any }[]).map((item) => item.payload.event.type)).toEqual(['EMAIL_ACCOUNT_ADDED']);
    const filtered = await get(A, `?pagination_type=cursor&start_date=${today}&end_date=${today}&type=email_account_added`);
    expect(filtered.body.data).toEqual([]);
    const old = await get(A, '?pagination_type=cursor&start_date=2020-01-01&end_date=2020-01-02');
    expect(old.body.data).toEqual([]);
  });

  it('answers 422 when one date is given without the other, 404 on an instance without the log', async () => {
    expect((await get(A, `?pagination_type=cursor&start_date=${today}`)).status).toBe(422);
    expect((await get(A, `?pagination_type=cursor&end_date=${today}`)).status).toBe(422);
    sim.setEventLog(false);
    try {
      expect((await get(A, `?pagination_type=cursor&start_date=${today}&end_date=${today}`)).status).toBe(404);
      const answer = await requestEventLogPage(
        { workspace: A, baseUrl: sim.url, apiKey: keyOf(A) },
        { startDate: today, endDate: today, cursor: null },
      );
      expect(answer).toEqual({ kind: 'absent' });
    } finally {
      sim.setEventLog(true);
    }
  });

  it('the client reads a page, retries a 5xx and a malformed page, and refuses a 422 by its status', async () => {
    const options = { workspace: A, baseUrl: sim.url, apiKey: keyOf(A), sleep: async () => {} };
    const query = { startDate: today, endDate: today, cursor: null };
    const page = await requestEventLogPage(options, query);
    expect(page).toMatchObject({ kind: 'page', nextCursor: expect.any(String) });

    sim.setEventLogFaults(A, { failFromPage: { page: 1, status: 503, times: 1 }, malformedPages: [1], malformedTimes: 1 });
    const stats = { requests: 0 };
    expect(await requestEventLogPage({ ...options, stats }, query)).toMatchObject({ kind: 'page' });
    expect(stats.requests).toBe(3);

    sim.setEventLogFaults(A, { failFromPage: { page: 1, status: 422 } });
    expect(await requestEventLogPage(options, query)).toEqual({ kind: 'refused', reason: 'GET /api/events answered HTTP 422' });
    sim.setEventLogFaults(A, { malformedPages: [1] });
    expect(await requestEventLogPage(options, query)).toMatchObject({ kind: 'unavailable' });
    // An answer that never ends is read only so far (bounded-body.ts), and refused.
    sim.setEventLogFaults(A, { endlessBody: true });
    expect(await requestEventLogPage({ ...options, maxResponseBytes: 65_536 }, query)).toEqual({
      kind: 'refused',
      reason: 'GET /api/events answered more than 65536 bytes',
    });
    sim.setEventLogFaults(A, undefined);
  });
});
