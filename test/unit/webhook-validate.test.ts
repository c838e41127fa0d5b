import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, nestsDeeperThan, strictTimestampMs, unstorableString, wholeId } from '../../lambdas/webhooks/strict';
import { validateDelivery } from '../../lambdas/webhooks/validate';

const target = { workspaceId: 4, emailbisonWorkspaceId: 12 };
const receivedAt = new Date('2026-12-05T04:00:00Z');

function body(senderEmail: Record<string, unknown>, event: Record<string, unknown> = {}, type = 'EMAIL_ACCOUNT_ADDED') {
  return JSON.stringify({
    event: { type, workspace_id: 12, ...event },
    data: { sender_email: { id: 77, email: 'ava@example.com', status: 'Connected', ...senderEmail } },
  });
}

describe('validateDelivery', () => {
  it('takes a plain delivery of the URL’s EmailBison workspace, stamped with its arrival', () => {
    const checked = validateDelivery(body({ updated_at: '2026-12-01T09:05:00.000000Z' }), target, { receivedAt });
    expect(checked).toMatchObject({
      ok: true,
      event: { type: 'email_account_added', emailbisonWorkspaceId: 12, receivedAt: receivedAt.toISOString() },
    });
  });

  it('refuses (409) an event of another EmailBison workspace, and one that does not say', () => {
    expect(validateDelivery(body({}, { workspace_id: 13 }), target, { receivedAt })).toMatchObject({ ok: false, status: 409 });
    expect(validateDelivery(body({}, { workspace_id: undefined }), target, { receivedAt })).toMatchObject({ ok: false, status: 409 });
    expect(validateDelivery(body({}, { workspace_id: null }), target, { receivedAt })).toMatchObject({ ok: false, status: 409 });
  });

  const poison: [string, string][] = [
    ['a NUL in the email', body({ email: 'a\u0000@example.com' })],
    ['a NUL in the name', body({ name: 'Ava\u0000' })],
    ['a NUL in a key', body({ 'x\u0000': 1 })],
    ['a NUL deep inside', body({ extra: { deeper: ['ok', { k: 'v\u0000' }] } })],
    ['a lone surrogate', body({ name: 'Ava \ud800' })],
    ['an 80,000-deep array in sender_email', body({ extra: 'DEEP' }).replace('"DEEP"', `${'['.repeat(80_000)}${']'.repeat(80_000)}`)],
    ['updated_at +275760-09-13', body({ updated_at: '+275760-09-13T00:00:00Z' })],
    ['updated_at "hello 2026"', body({ updated_at: 'hello 2026' })],
    ['updated_at 2026-02-30', body({ updated_at: '2026-02-30T10:00:00Z' })],
    ['updated_at without an offset', body({ updated_at: '2026-12-01T10:00:00' })],
    ['updated_at in 1999', body({ updated_at: '1999-12-31T23:59:59Z' })],
    ['updated_at two days ahead', body({ updated_at: '2026-12-07T04:00:01Z' })],
    ['updated_at a number', body({ updated_at: 1764547200 })],
    ['created_at 2026-13-01', body({ created_at: '2026-13-01T00:00:00Z' })],
    ['an id past 2^53', body({ id: 'PAST' }).replace('"PAST"', '9007199254740993')],
    ['an id of 0', body({ id: 0 })],
    ['an id of 1.5', body({ id: 1.5 })],
    ['an id of -3', body({ id: -3 })],
    ['an id as "12abc"', body({ id: '12abc' })],
    ['a workspace_id past 2^53', body({}, { workspace_id: 'PAST' }).replace('"PAST"', '9007199254740993')],
    ['a workspace_id as text', body({}, { workspace_id: 'twelve' })],
    ['a workspace_id of 0', body({}, { workspace_id: 0 })],
    ['tags [null, "x", 7]', body({ tags: [null, 'x', 7] })],
    ['tags that are not an array', body({ tags: 'Warm' })],
    ['a tag without an id', body({ tags: [{ name: 'Warm' }] })],
    ['an email that is a number', body({ email: 5 })],
  ];
  for (const [what, text] of poison) {
    it(`refuses ${what} with 400`, () => {
      const checked = validateDelivery(text, target, { receivedAt });
      expect(checked).toMatchObject({ ok: false, status: 400 });
      expect((checked as { reason: string }).reason).not.toContain('ava@example.com');
    });
  }

  it('refuses a tag event whose tag id or taggable id is out of range', () => {
    const tagEvent = (tag: unknown, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ event: { type: 'TAG_ATTACHED', workspace_id: 12 }, data: { tag, taggable_type: 'SenderEmail', ...extra } });
    expect(validateDelivery(tagEvent({ id: 5, name: 'Warm' }, { taggable_id: 77 }), target, { receivedAt }).ok).toBe(true);
    expect(validateDelivery(tagEvent({ id: -5, name: 'Warm' }, { taggable_id: 77 }), target, { receivedAt })).toMatchObject({
      status: 400,
    });
    expect(validateDelivery(tagEvent({ id: 5, name: 'Warm' }, { taggable_id: 2 ** 60 }), target, { receivedAt })).toMatchObject({
      status: 400,
    });
  });
});

describe('the strict checks', () => {
  it('measures nesting on the raw text, strings aside', () => {
    expect(nestsDeeperThan('{"a":[[["x"]]]}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":[[[["x"]]]]}', 4)).toBe(true);
    expect(nestsDeeperThan(`{"a":"${'['.repeat(100)}\\"${'{'.repeat(100)}"}`, 2)).toBe(false);
    expect(nestsDeeperThan('['.repeat(80_000), MAX_DEPTH)).toBe(true);
  });

  it('finds NUL and lone surrogates in keys and values, without recursion', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unstorableString(deep)).toMatch(/NUL/);
    expect(unstorableString({ ok: ['a', { b: 'c' }], emoji: '🚀' })).toBeUndefined();
  });

  it('takes whole ids 1..2^53-1 only', () => {
    expect(wholeId(1)).toBe(1);
    expect(wholeId('42')).toBe(42);
    expect(wholeId(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    for (const value of [0, -1, 1.5, 2 ** 53, '007', '', '1e3', null, true, [1]]) expect(wholeId(value), String(value)).toBeUndefined();
  });

  it('takes real ISO-8601 date-times from 2000 to a day ahead', () => {
    const now = Date.parse('2026-12-05T04:00:00Z');
    expect(strictTimestampMs('2026-12-01T09:05:00.000000Z', now)).toBe(Date.parse('2026-12-01T09:05:00Z'));
    expect(strictTimestampMs('2024-02-29T23:59:59+02:00', now)).toBe(Date.parse('2024-02-29T21:59:59Z'));
    for (const text of [
      '2025-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-12-01T24:00:00Z',
      '2026-12-01 10:00:00Z',
      '2026-12-01T10:00:00+15:00',
    ]) {
      expect(strictTimestampMs(text, now), text).toBeUndefined();
    }
  });
});
