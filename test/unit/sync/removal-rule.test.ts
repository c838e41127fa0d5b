import { describe, expect, it } from 'vitest';
import { inconsistency } from '../../../lambdas/sync/removal-rule';

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
    expect(inconsistency({ totalsSeen: [433], seen: 434, live: 433 })).toBe('saw 434 distinct accounts, more than the 433 EmailBison reported');
  });

  it('removes nothing on a sudden drop to zero of a workspace that had live accounts', () => {
    expect(inconsistency({ totalsSeen: [0], seen: 0, live: 12 })).toBe('EmailBison reported 0 accounts for a workspace with 12 live accounts');
  });

  it('holds back only a drop to zero: a consistent walk that saw far fewer accounts than are live may remove the rest', () => {
    expect(inconsistency({ totalsSeen: [5], seen: 5, live: 500 })).toBeUndefined();
  });
});
