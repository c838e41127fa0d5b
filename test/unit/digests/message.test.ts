import { describe, expect, it } from 'vitest';
import {
  cutToBytes,
  type Digest,
  fitDigest,
  MAX_DIGEST_BYTES,
  MAX_LINE_BYTES,
  snsSubject,
  utf8Bytes,
} from '../../../lambdas/digests/message';
import { formatDigest, type RunDigest } from '../../../lambdas/jobs/run-changes';
import { changesMessage } from '../../../lambdas/webhooks/publish';
import { describeAlert } from '../../../lambdas/health/warmup-alerts';
import { warmupSections } from '../../../lambdas/health/warmup-digest';

/*
 * Every digest fits one SNS message (issue 19 item 2): at most 200 KB of UTF-8, subject
 * included, whatever the digest holds, and nothing is dropped without being counted.
 */

const SINCE = new Date('2026-12-05T03:00:00.000Z');

/** A run digest of `workspaces` workspaces, each with `accounts` accounts disconnected. */
function runDigest(workspaces: number, accounts: number, email = (w: number, a: number) => `inbox${a}@client-${w}.example.com`): RunDigest {
  return {
    jobId: '6f1c2e1a-8a4b-4f7e-9d0c-3b2a1f0e9d8c',
    jobName: 'sender-emails-sync',
    completedAt: new Date('2026-12-05T04:00:00Z'),
    since: SINCE,
    workspaces: Array.from({ length: workspaces }, (_, w) => ({
      workspaceId: w + 1,
      workspace: `Client ${String(w + 1).padStart(4, '0')} Outbound`,
      counts: { disconnected: accounts, reconnected: 0, added: 0, removed: 0 },
      accounts: Array.from({ length: Math.min(accounts, 50) }, (_, a) => ({
        emailbisonId: w * 1000 + a,
        email: email(w, a),
        oldStatus: 'Connected',
        newStatus: 'Not connected',
        removed: false,
        warmupDisabled: false,
      })),
      notListed: Math.max(0, accounts - 50),
    })),
  };
}

const snsBytes = (message: { subject: string; message: string }) => utf8Bytes(message.subject) + utf8Bytes(message.message);

/** Accounts a message accounts for: each listed line, each "… and N more", each "N more workspaces, M accounts". */
function accountedFor(message: string): number {
  let total = 0;
  for (const line of message.split('\n')) {
    const summary = /^… and [\d,]+ more workspaces?, ([\d,]+) accounts?: `/.exec(line);
    const more = /^ {2}… and ([\d,]+) more/.exec(line);
    if (summary) total += Number(summary[1].replace(/,/g, ''));
    else if (more) total += Number(more[1].replace(/,/g, ''));
    else if (/^ {2}\S.*: /.test(line)) total += 1;
  }
  return total;
}

describe('the run digest on a bad day', () => {
  it('85 workspaces x 50 changed accounts: one message under 200 KB, the rest summarised with the command that lists it', () => {
    const digest = runDigest(85, 50);
    const unfitted = digest.workspaces.flatMap((w) => w.accounts.map((a) => `  ${a.email}: Connected → Not connected`)).join('\n');
    expect(utf8Bytes(unfitted)).toBeGreaterThan(MAX_DIGEST_BYTES);

    const message = formatDigest(digest);
    expect(snsBytes(message)).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    expect(snsBytes(message)).toBeGreaterThan(MAX_DIGEST_BYTES - 1_000);
    expect(message.subject).toBe('sender-sync: 4250 disconnected, 0 removed, 0 reconnected, 0 added');
    const last = message.message.split('\n').at(-1);
    expect(last).toMatch(/^… and \d+ more workspaces, [\d,]+ accounts: `sender-sync changes --since 2026-12-05T03:00:00.000Z`$/);
    expect(accountedFor(message.message)).toBe(85 * 50);
    console.log(`85 x 50: ${snsBytes(message)} bytes; ${last}`);
  });

  it('2,000 workspaces x 50 changed accounts (of 80 each): under 200 KB, every account counted', () => {
    const message = formatDigest(runDigest(2000, 80));
    expect(snsBytes(message)).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    expect(message.message).toMatch(
      /\n… and 1,9\d\d more workspaces, [\d,]+ accounts: `sender-sync changes --since 2026-12-05T03:00:00.000Z`$/,
    );
    expect(accountedFor(message.message)).toBe(2000 * 80);
    console.log(`2,000 x 80: ${snsBytes(message)} bytes; ${message.message.split('\n').at(-1)}`);
  });

  it('a digest that fits is sent whole, with no summary', () => {
    const message = formatDigest(runDigest(3, 60));
    expect(message.message).not.toContain('sender-sync changes');
    expect(message.message.match(/ {2}… and 10 more$/gm)).toHaveLength(3);
    expect(accountedFor(message.message)).toBe(180);
  });

  it('upstream values of any size: multi-byte emails of 100 KB each still leave one message under the cap, cut between characters', () => {
    const huge = (w: number, a: number) => `${'é🚀'.repeat(16_000)}${w}-${a}@x.io`;
    const message = formatDigest(runDigest(4, 50, huge));
    expect(snsBytes(message)).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    for (const line of message.message.split('\n')) expect(utf8Bytes(line)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(message.message).not.toContain('\uFFFD');
    expect(Buffer.from(message.message, 'utf8').toString('utf8')).toBe(message.message);
    expect(accountedFor(message.message)).toBe(200);
  });
});

describe('fitDigest', () => {
  const digest = (sections: number, lines: number): Digest => ({
    subject: 'sender-sync: test',
    intro: ['Changes since the previous run:'],
    sections: Array.from({ length: sections }, (_, s) => ({
      heading: `Workspace ${s}: ${lines} disconnected`,
      lines: Array.from({ length: lines }, (_, l) => `  account-${s}-${l}@example.com: Connected → Not connected`),
      accounts: lines,
    })),
    changesCommand: 'sender-sync changes --since 2026-12-05T03:00:00.000Z',
  });

  it.each([300, 500, 1_000, 4_096, 20_000, 65_536])('never passes %i bytes, and accounts for every line', (maxBytes) => {
    const fitted = fitDigest(digest(40, 30), maxBytes);
    expect(snsBytes(fitted)).toBeLessThanOrEqual(maxBytes);
    expect(accountedFor(fitted.message)).toBe(40 * 30);
  });

  it('cuts inside a section when even one does not fit, and says how many of it are left', () => {
    const fitted = fitDigest(digest(1, 100), 2_000);
    expect(snsBytes(fitted)).toBeLessThanOrEqual(2_000);
    expect(fitted.message).toMatch(/\n {2}… and \d+ more: `sender-sync changes --since 2026-12-05T03:00:00.000Z`$/);
    expect(accountedFor(fitted.message)).toBe(100);
  });

  it('SNS subjects: printable ASCII, one line, at most 100 characters', () => {
    expect(snsSubject(`sender-sync: 3 disconnected in Zoë's\n\u001b[2J ${'x'.repeat(200)}`)).toMatch(
      /^sender-sync: 3 disconnected in Zo\?'s \?\[2J x+$/,
    );
    expect(snsSubject('x'.repeat(200))).toHaveLength(100);
  });

  it('cuts text by UTF-8 bytes between characters', () => {
    expect(cutToBytes('🚀🚀🚀', 8)).toBe('🚀…');
    expect(utf8Bytes(cutToBytes('é'.repeat(1000), 101))).toBeLessThanOrEqual(101);
    expect(cutToBytes('short', 10)).toBe('short');
  });
});

describe("the webhooks' digest", () => {
  it('goes through the same cap: huge upstream values still make one message under 200 KB', () => {
    const pending = Array.from({ length: 80 }, (_, i) => ({
      email: `${'x'.repeat(150_000)}${i}@x.io`,
      field: 'status' as const,
      oldValue: 'Connected',
      newValue: 'Not connected',
      observedAt: new Date(SINCE.getTime() + i * 1000),
    }));
    const message = changesMessage('Acme', pending);
    expect(utf8Bytes(message.subject) + utf8Bytes(message.text)).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    expect(accountedFor(message.text)).toBe(80);
  });
});

describe('warmup health in the run digest', () => {
  const alert = (w: number, a: number) => ({
    emailbisonId: w * 1000 + a,
    email: `inbox${a}@client-${w}.example.com`,
    day: '2026-12-05',
    score: 40 + (a % 20),
    previousDay: '2026-12-04',
    previousScore: 95,
    dropped: true,
    underFloor: a % 20 < 10,
    disabledForBouncing: a % 7 === 0,
  });
  const withWarmup = (changed: number, alerted: number): RunDigest => ({
    ...runDigest(changed, 50),
    warmup: {
      day: '2026-12-05',
      thresholds: { dropPoints: 10, floor: 50 },
      workspaces: Array.from({ length: alerted }, (_, w) => ({
        workspaceId: 10_000 + w,
        workspace: `Warm ${w}`,
        alerts: Array.from({ length: 50 }, (_, a) => alert(w, a)),
        notListed: 30,
      })),
    },
  });

  it('comes after the changes; what does not fit is counted with both commands that list it', () => {
    const message = formatDigest(withWarmup(200, 2_000));
    expect(snsBytes(message)).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    expect(message.subject).toBe('sender-sync: 160000 warmup alerts, 10000 disconnected, 0 removed, 0 reconnected, 0 added');
    expect(message.message.split('\n').at(-1)).toMatch(
      /^… and [\d,]+ more workspaces, [\d,]+ accounts: `sender-sync changes --since 2026-12-05T03:00:00.000Z`, `sender-sync health`$/,
    );
    expect(accountedFor(message.message)).toBe(200 * 50 + 2_000 * 80);
  });

  it('a warmup section says what it does not list, and when cut in its middle names `sender-sync health`', () => {
    const whole = formatDigest(withWarmup(0, 1)).message;
    expect(whole).toContain(
      'Warm 0: warmup health, 80 accounts (down 10+ points since the previous day, under 50, or disabled for bouncing)',
    );
    expect(whole).toContain('  inbox7@client-0.example.com: score 95 → 47 (-48), under 50, warmup disabled for bouncing');
    expect(whole).toMatch(/\n {2}… and 30 more$/);
    const cut = fitDigest({ subject: 's', intro: [], sections: warmupSections(withWarmup(0, 1).warmup!), changesCommand: 'unused' }, 2_000);
    expect(cut.message).toMatch(/\n {2}… and \d+ more: `sender-sync health`$/);
    expect(accountedFor(cut.message)).toBe(80);
  });
});

describe('a warmup alert line', () => {
  const base = { emailbisonId: 7, email: 'a@x.io', day: '2026-12-05', previousDay: '2026-12-04', dropped: false, underFloor: false };
  const thresholds = { dropPoints: 10, floor: 50 };

  it('says the score before and after with its signed change, and why', () => {
    expect(describeAlert({ ...base, score: 70, previousScore: 92.5, dropped: true, disabledForBouncing: false }, thresholds)).toBe(
      'a@x.io: score 92.5 → 70 (-22.5)',
    );
    expect(describeAlert({ ...base, score: 95, previousScore: 79, disabledForBouncing: true }, thresholds)).toBe(
      'a@x.io: score 79 → 95 (+16), warmup disabled for bouncing',
    );
    expect(
      describeAlert({ ...base, email: null, score: 40, previousScore: null, underFloor: true, disabledForBouncing: false }, thresholds),
    ).toBe('account 7: score 40, under 50');
  });
});
