import { describe, expect, it } from 'vitest';
import { decideRemoval, inconsistency } from '../../../lambdas/sync/removal-rule';

describe('the removal rule (inconsistency)', () => {
  it('lets a walk remove when one total was reported throughout and exactly that many accounts were seen', () => {
    expect(inconsistency({ totalsSeen: [433], seen: 433, live: 440 })).toBeUndefined();
    expect(inconsistency({ totalsSeen: [433, 433], seen: 433, live: 400 })).toBeUndefined();
  });

  it('lets an empty workspace stay empty', () => {
    expect(inconsistency({ totalsSeen: [0], seen: 0, live: 0 })).toBeUndefined();
  });

  it('removes nothing when no page was read', () => {
    expect(inconsistency({ totalsSeen: [], seen: 0, live: 12 })).toBe('no page was read');
  });

  it('removes nothing when the total changed mid-read, naming each total in order', () => {
    expect(inconsistency({ totalsSeen: [433, 431], seen: 431, live: 433 })).toBe('the account total changed while paging (433 → 431)');
    expect(inconsistency({ totalsSeen: [10, 11, 10], seen: 10, live: 10 })).toBe('the account total changed while paging (10 → 11)');
  });

  it('names a changed total before a short count', () => {
    expect(inconsistency({ totalsSeen: [500, 520], seen: 300, live: 500 })).toMatch(/^the account total changed/);
  });

  it('removes nothing when fewer distinct accounts were seen than meta.total', () => {
    expect(inconsistency({ totalsSeen: [433], seen: 432, live: 433 })).toBe('saw 432 distinct accounts but EmailBison reported 433');
  });

  it('removes nothing when more distinct accounts were seen than meta.total', () => {
    expect(inconsistency({ totalsSeen: [433], seen: 434, live: 433 })).toBe(
      'saw 434 distinct accounts, more than the 433 EmailBison reported',
    );
  });

  it('removes nothing on a sudden drop to zero of a workspace that had live accounts', () => {
    expect(inconsistency({ totalsSeen: [0], seen: 0, live: 12 })).toBe(
      'EmailBison reported 0 accounts for a workspace with 12 live accounts',
    );
  });

  it('leaves the sudden-drop guard to decideRemoval: the total check alone accepts a consistent walk of 5 of 500', () => {
    expect(inconsistency({ totalsSeen: [5], seen: 5, live: 500 })).toBeUndefined();
  });
});

describe('the removal rule (decideRemoval)', () => {
  it('removes after a consistent page walk', () => {
    expect(decideRemoval({ totalsSeen: [433], seen: 433, live: 440 })).toEqual({ action: 'remove' });
  });

  it('holds back a walk that saw fewer than half of the live accounts, from 20 live accounts up', () => {
    expect(decideRemoval({ totalsSeen: [5], seen: 5, live: 500 })).toEqual({
      action: 'hold',
      reason: 'saw 5 accounts of a workspace with 500 live (fewer than half): a sudden drop is likelier an upstream fault',
    });
    expect(decideRemoval({ totalsSeen: [10], seen: 10, live: 20 })).toEqual({ action: 'remove' });
    expect(decideRemoval({ totalsSeen: [9], seen: 9, live: 20 })).toMatchObject({ action: 'hold' });
    expect(decideRemoval({ totalsSeen: [5], seen: 5, live: 19 })).toEqual({ action: 'remove' });
  });

  it('holds back a walk that saw no account of a workspace with live ones, in either mode', () => {
    expect(decideRemoval({ mode: 'cursor', totalsSeen: [], seen: 0, live: 3 })).toEqual({
      action: 'hold',
      reason: 'EmailBison served no accounts for a workspace with 3 live accounts',
    });
    expect(decideRemoval({ totalsSeen: [0], seen: 0, live: 12 })).toEqual({
      action: 'hold',
      reason: 'EmailBison reported 0 accounts for a workspace with 12 live accounts',
    });
  });

  it('holds back a walk that restarted in another mode, whatever it saw', () => {
    expect(decideRemoval({ mode: 'cursor', totalsSeen: [433], seen: 433, live: 433, mixed: true })).toMatchObject({
      action: 'hold',
      reason: expect.stringMatching(/^the walk restarted in another pagination mode/),
    });
  });

  it('checks a cursor walk against the page=1 total when the instance gave one', () => {
    expect(decideRemoval({ mode: 'cursor', totalsSeen: [433], seen: 433, live: 435, itemsRead: 433 })).toEqual({ action: 'remove' });
    expect(decideRemoval({ mode: 'cursor', totalsSeen: [433], seen: 432, live: 435, itemsRead: 432 })).toEqual({
      action: 'hold',
      reason: 'saw 432 distinct accounts but EmailBison reported 433',
    });
  });

  it('confirms (the two-walk rule) a clean cursor walk without a total', () => {
    expect(decideRemoval({ mode: 'cursor', totalsSeen: [], seen: 432, live: 433, itemsRead: 432 })).toEqual({ action: 'confirm' });
  });

  it('holds back a cursor walk without a total that read an id twice, or whose total request failed', () => {
    expect(decideRemoval({ mode: 'cursor', totalsSeen: [], seen: 432, live: 433, itemsRead: 433 })).toEqual({
      action: 'hold',
      reason: 'the cursor walk read 433 items but only 432 distinct accounts (an id came twice)',
    });
    expect(
      decideRemoval({ mode: 'cursor', totalsSeen: [], seen: 433, live: 433, totalUnavailable: 'EmailBisonUnavailableError: …' }),
    ).toEqual({
      action: 'hold',
      reason: 'the account total could not be read (EmailBisonUnavailableError: …)',
    });
  });
});
