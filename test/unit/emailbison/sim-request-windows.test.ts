import { describe, expect, it } from 'vitest';
import { busiestWindow, countBy } from '../../../sim/request-windows';

describe('reading a request log', () => {
  it('finds the busiest sliding window, whatever the order of the times', () => {
    expect(busiestWindow([], 1_000)).toBe(0);
    expect(busiestWindow([0, 999, 1_000, 1_999], 1_000)).toBe(2);
    // Two fixed windows of 3 each, but 4 in the second that straddles them.
    expect(busiestWindow([2_900, 100, 2_000, 1_100, 1_800, 1_950], 1_000)).toBe(4);
  });

  it('counts by a key', () => {
    expect(countBy(['a', 'b', 'a'], (x) => x)).toEqual(
      new Map([
        ['a', 2],
        ['b', 1],
      ]),
    );
  });
});
