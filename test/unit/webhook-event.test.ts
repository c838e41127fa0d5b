import { describe, expect, it } from 'vitest';
import { ACCOUNT_EVENT_TYPES, parseAccountEvent } from '../../lambdas/webhooks/event';
import { changesMessage } from '../../lambdas/webhooks/publish';
import { deliveryUrl, maskWebhookUrl, workspaceToken, workspaceTokenMatches } from '../../lambdas/webhooks/token';

const senderEmail = {
  id: 77,
  name: 'Ava Stone',
  email: 'ava@example.com',
  status: 'Not connected',
  account_type: 'google',
  daily_limit: 30,
  emails_sent: 120,
  replied: 4,
  opened: 50,
  unsubscribed: 1,
  bounced: 2,
  unique_replies: 3,
  unique_opens: 40,
  total_leads_contacted: 100,
  interested: 1,
  created_at: '2026-01-01T00:00:00.000000Z',
  updated_at: '2026-12-01T09:05:00.000000Z',
};
const delivered = (type: string, data: unknown = { sender_email: senderEmail }) =>
  JSON.stringify({ event: { type, name: 'x', instance_url: 'https://send.example.com', workspace_id: 12, workspace_name: 'Acme' }, data });

describe('parseAccountEvent', () => {
  it('reads the delivered shape: UPPERCASE type, workspace, and the counters under their REST names', () => {
    const event = parseAccountEvent(delivered('EMAIL_ACCOUNT_DISCONNECTED'));
    expect(event).toMatchObject({ type: 'email_account_disconnected', emailbisonWorkspaceId: 12, instanceUrl: 'https://send.example.com' });
    expect(event.senderEmail).toMatchObject({
      id: 77,
      email: 'ava@example.com',
      status: 'Not connected',
      updatedAt: senderEmail.updated_at,
    });
    expect(event.senderEmail!.restFields).toMatchObject({
      emails_sent_count: 120,
      total_replied_count: 4,
      total_opened_count: 50,
      unique_replied_count: 3,
      unique_opened_count: 40,
      bounced_count: 2,
      unsubscribed_count: 1,
      interested_leads_count: 1,
      total_leads_contacted_count: 100,
      type: 'google',
      daily_limit: 30,
    });
  });

  it('reads the wrapped test-event shape and lowercase types, for each of the eight events', () => {
    for (const type of ACCOUNT_EVENT_TYPES) {
      const data = type.startsWith('tag_')
        ? { tag: { id: 5, name: 'Warm' }, taggable_type: 'App\\Models\\SenderEmail', taggable_id: 77 }
        : { sender_email: senderEmail };
      const wrapped = JSON.stringify({ data: JSON.parse(delivered(type, data)) });
      expect(parseAccountEvent(wrapped).type).toBe(type);
      expect(parseAccountEvent(delivered(type.toUpperCase(), data)).senderEmail?.id).toBe(77);
    }
  });

  it('applies tag events to sender emails only', () => {
    expect(
      parseAccountEvent(delivered('TAG_ATTACHED', { tag: { id: 5, name: 'Warm' }, taggableType: 'lead', taggableId: 9 })),
    ).toMatchObject({
      ignoredTaggable: 'not a sender email',
    });
    expect(parseAccountEvent(delivered('TAG_REMOVED', { tag: { id: 5, name: 'Warm' }, sender_email: senderEmail }))).toMatchObject({
      tag: { id: 5, name: 'Warm' },
      senderEmail: { id: 77 },
    });
  });

  it('refuses what is not an account event, without quoting it', () => {
    for (const body of [
      '',
      'nope',
      '[]',
      '{}',
      delivered('SOMETHING_ELSE'),
      delivered('EMAIL_ACCOUNT_REMOVED', {}),
      delivered('email_account_added', { sender_email: { id: 3 } }),
    ]) {
      expect(() => parseAccountEvent(body), body).toThrow(expect.objectContaining({ code: 'SS_WEBHOOK_MALFORMED' }));
    }
    expect(() => parseAccountEvent(delivered('DROP TABLE x'))).toThrow('Unknown event type.');
  });
});

describe('the workspace token', () => {
  const secret = 'master-secret-for-unit-tests-0123456789';
  const acme = { workspaceId: 4, emailbisonWorkspaceId: 12 };

  it("is the workspace's HMAC: it opens its own path only, and is masked in URLs", () => {
    const token = workspaceToken(secret, acme);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(workspaceTokenMatches(secret, acme, token)).toBe(true);
    for (const guess of ['', token.slice(0, -1), `${token} `, token.toUpperCase(), workspaceToken('other-secret', acme)]) {
      expect(workspaceTokenMatches(secret, acme, guess)).toBe(false);
    }
    expect(workspaceTokenMatches(secret, { workspaceId: 5, emailbisonWorkspaceId: 12 }, token)).toBe(false);
    expect(workspaceTokenMatches(secret, { workspaceId: 4, emailbisonWorkspaceId: 13 }, token)).toBe(false);
    const url = deliveryUrl('https://x.on.aws/', secret, acme);
    expect(url).toBe(`https://x.on.aws/emailbison/4/12/${token}`);
    expect(maskWebhookUrl(url)).toBe('https://x.on.aws/emailbison/4/12/***');
    expect(maskWebhookUrl('https://x.on.aws/emailbison/s3cret-token/4')).toBe('https://x.on.aws/emailbison/***/4');
  });
});

describe('changesMessage', () => {
  it('names at most 50 accounts and counts the rest, with an ASCII subject of at most 100 characters', () => {
    const pending = Array.from({ length: 53 }, (_, i) => ({
      email: `a${i}@x.io`,
      field: 'status' as const,
      oldValue: 'Connected',
      newValue: 'Not connected',
    }));
    const message = changesMessage(`Zoë's ${'very '.repeat(30)}long workspace`, [
      ...pending,
      { email: 'r@x.io', field: 'removed', oldValue: false, newValue: true },
    ]);
    expect(message.subject.length).toBeLessThanOrEqual(100);
    expect(message.subject).toMatch(/^sender-sync: 53 disconnected, 1 removed in Zo\?'s /);
    expect(message.text.split('\n')).toHaveLength(52);
    expect(message.text).toContain('a0@x.io: Connected -> Not connected');
    expect(message.text).toContain('  … and 4 more');
  });
});
