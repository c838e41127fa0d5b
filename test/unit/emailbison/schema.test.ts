import { describe, expect, it } from 'vitest';
import { parsePage, parseSenderEmail } from '../../../lambdas/emailbison/schema';

function rawItem(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 101,
    name: 'Zoë Müller',
    email: 'zoe.muller@tryacme.com',
    email_signature: null,
    daily_limit: 30,
    type: 'Google',
    status: 'Connected',
    tags: [
      { id: 1, name: 'Google', default: true },
      { id: 12, name: 'Inboxkit', default: false },
    ],
    emails_sent_count: 1_200,
    total_replied_count: 24,
    unique_replied_count: 20,
    total_opened_count: null,
    unique_opened_count: null,
    bounced_count: 3,
    unsubscribed_count: 1,
    interested_leads_count: 5,
    total_leads_contacted_count: 900,
    warmup_enabled: true,
    created_at: '2025-01-16T13:28:01.000000Z',
    updated_at: '2025-09-17T13:28:01.000000Z',
    ...overrides,
  };
}

function rawPage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    data: [rawItem()],
    links: { first: 'x?page=1', last: 'x?page=3', prev: null, next: 'x?page=2' },
    meta: { current_page: 1, from: 1, last_page: 3, per_page: 15, to: 15, total: 40, path: 'x' },
    ...overrides,
  };
}

describe('parsePage', () => {
  it('reads the pagination of a Laravel page', () => {
    expect(parsePage(rawPage())).toEqual({
      ok: true,
      page: { mode: 'page', currentPage: 1, lastPage: 3, total: 40, hasNext: true, data: [rawItem()] },
    });
  });

  it('reads numbers sent as strings and a page without links', () => {
    const parsed = parsePage(rawPage({ links: undefined, meta: { current_page: '2', last_page: '3', total: '40' } }));
    expect(parsed).toMatchObject({ ok: true, page: { currentPage: 2, lastPage: 3, total: 40, hasNext: false } });
  });

  it.each([
    ['missing data', rawPage({ data: undefined })],
    ['missing meta', rawPage({ meta: undefined })],
    ['missing meta.total', rawPage({ meta: { current_page: 1, last_page: 3 } })],
    ['invalid data', rawPage({ data: { 0: rawItem() } })],
    ['body is not a page object', 'Service Unavailable'],
  ])('says what is wrong: %s', (problem, body) => {
    expect(parsePage(body)).toEqual({ ok: false, problem });
  });
});

describe('parseSenderEmail', () => {
  it('maps every documented field and keeps the raw item, unknown fields included', () => {
    const raw = rawItem({ smtp_server: 'smtp.gmail.com', health: { score: 98 } });
    const parsed = parseSenderEmail(raw, 0);

    expect(parsed).toEqual({
      ok: true,
      item: {
        id: 101,
        email: 'zoe.muller@tryacme.com',
        name: 'Zoë Müller',
        emailSignature: null,
        dailyLimit: 30,
        type: 'Google',
        status: 'Connected',
        tags: [
          { id: 1, name: 'Google', default: true },
          { id: 12, name: 'Inboxkit', default: false },
        ],
        emailsSentCount: 1_200,
        totalRepliedCount: 24,
        uniqueRepliedCount: 20,
        totalOpenedCount: null,
        uniqueOpenedCount: null,
        bouncedCount: 3,
        unsubscribedCount: 1,
        interestedLeadsCount: 5,
        totalLeadsContactedCount: 900,
        warmupEnabled: true,
        createdAt: '2025-01-16T13:28:01.000000Z',
        updatedAt: '2025-09-17T13:28:01.000000Z',
        raw,
      },
    });
  });

  it('turns missing or mistyped optional fields into null rather than dropping the account', () => {
    const parsed = parseSenderEmail({ id: '7', email: 'a@b.co', daily_limit: 'thirty', warmup_enabled: 1, status: 5 }, 0);

    expect(parsed).toMatchObject({ ok: true, item: { id: 7, dailyLimit: null, warmupEnabled: true, status: null, name: null, tags: [] } });
  });

  it('keeps the well-formed tags of a list with a broken one', () => {
    const parsed = parseSenderEmail(rawItem({ tags: [{ id: 1, name: 'Google' }, { name: 'no id' }, 'x'] }), 0);

    expect(parsed).toMatchObject({ ok: true, item: { tags: [{ id: 1, name: 'Google', default: false }] } });
  });

  it.each([
    [rawItem({ email: undefined }), 101, 'item 101 has no email'],
    [rawItem({ email: '  ' }), 101, 'item 101 has no email'],
    [rawItem({ id: undefined }), undefined, 'item at position 3 has no valid id'],
    [rawItem({ id: -4 }), -4, 'item at position 3 has no valid id'],
    [null, undefined, 'item at position 3 is not an object'],
  ])('rejects an item without a usable id or email (%#)', (value, id, reason) => {
    expect(parseSenderEmail(value, 3)).toEqual({ ok: false, id, reason });
  });
});

describe('parsePage in cursor mode', () => {
  const cursorBody = (nextCursor: string | null) => ({
    data: [],
    links: { next: null },
    meta: { path: '/api/sender-emails', per_page: 15, next_cursor: nextCursor, prev_cursor: null },
  });

  it('reads a cursor page by its meta, whatever was asked', () => {
    expect(parsePage(cursorBody('eyJpZCI6MTB9'))).toEqual({ ok: true, page: { mode: 'cursor', nextCursor: 'eyJpZCI6MTB9', data: [] } });
    expect(parsePage(cursorBody(null))).toEqual({ ok: true, page: { mode: 'cursor', nextCursor: null, data: [] } });
  });

  it('refuses a next_cursor longer than 1 KiB: it is stored and carried in the state machine payload', () => {
    expect(parsePage(cursorBody('a'.repeat(1025)))).toEqual({ ok: false, problem: 'meta.next_cursor is longer than 1024 characters' });
    expect(parsePage(cursorBody('a'.repeat(1024)))).toMatchObject({ ok: true });
  });
});
