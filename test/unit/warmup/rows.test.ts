import { describe, expect, it } from 'vitest';
import type { SenderEmail } from '../../../lambdas/emailbison/client';
import { warmupRow } from '../../../lambdas/warmup/rows';
import { isWarmupDay, utcDay } from '../../../lambdas/warmup/day';

function listed(raw: Record<string, unknown>): SenderEmail {
  return { id: 42, raw } as unknown as SenderEmail;
}

describe('warmupRow', () => {
  it('reads the seven figures of a warmup item, numbers given as text included', () => {
    expect(
      warmupRow(
        listed({
          warmup_score: '87.456',
          warmup_emails_sent: 31,
          warmup_replies_received: '12',
          warmup_emails_saved_from_spam: 2,
          warmup_bounces_received_count: 0,
          warmup_bounces_caused_count: 1,
          warmup_disabled_for_bouncing_count: 0,
        }),
      ),
    ).toEqual({
      emailbisonId: 42,
      warmupScore: 87.46,
      warmupEmailsSent: 31,
      warmupRepliesReceived: 12,
      warmupEmailsSavedFromSpam: 2,
      warmupBouncesReceivedCount: 0,
      warmupBouncesCausedCount: 1,
      warmupDisabledForBouncingCount: 0,
    });
  });

  it('stores null for a figure missing, not a number, negative, fractional or past its column', () => {
    const row = warmupRow(
      listed({
        warmup_score: 1e9,
        warmup_emails_sent: -3,
        warmup_replies_received: 2.5,
        warmup_emails_saved_from_spam: 'lots',
        warmup_bounces_received_count: 3_000_000_000,
        warmup_bounces_caused_count: null,
      }),
    );
    expect(row).toEqual({
      emailbisonId: 42,
      warmupScore: null,
      warmupEmailsSent: null,
      warmupRepliesReceived: null,
      warmupEmailsSavedFromSpam: null,
      warmupBouncesReceivedCount: null,
      warmupBouncesCausedCount: null,
      warmupDisabledForBouncingCount: null,
    });
  });
});

describe('the warmup day', () => {
  it('is a real calendar date as YYYY-MM-DD, by default the UTC day', () => {
    expect(isWarmupDay('2026-12-04')).toBe(true);
    expect(isWarmupDay('2028-02-29')).toBe(true);
    for (const bad of ['2026-02-30', '2026-12-4', '04/12/2026', '', 20261204, null]) expect(isWarmupDay(bad)).toBe(false);
    expect(utcDay(Date.parse('2026-12-04T23:59:59.999Z'))).toBe('2026-12-04');
    expect(utcDay(Date.parse('2026-12-05T00:30:00+02:00'))).toBe('2026-12-04');
  });
});
