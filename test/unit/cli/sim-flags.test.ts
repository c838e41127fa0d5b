import { describe, expect, it } from 'vitest';
import { parseSimFlags } from '../../../cli/sim-flags';

describe('run --sim-* flags', () => {
  it('reads every flag into the simulated instance', () => {
    expect(
      parseSimFlags({
        simPagination: 'cursor-only',
        simPageCap: '50',
        simRate: '6',
        simRateWindow: '0.5',
        simNoUsersRoute: true,
        simInvalidCursor: 'reject',
        simHonourPerPage: true,
        simUnreachable: 'hang',
      }),
    ).toEqual({
      pagination: 'cursor-only',
      pageCap: 50,
      rateLimit: { requests: 6, windowSeconds: 0.5 },
      usersRoute: false,
      invalidCursor: 'reject',
      honourPerPage: true,
      unreachable: 'hang',
    });
  });

  it('leaves the simulator at its defaults without flags, and the window at 1 s', () => {
    expect(parseSimFlags({})).toEqual({});
    expect(parseSimFlags({ simRate: '10' })).toEqual({ rateLimit: { requests: 10, windowSeconds: 1 } });
  });

  it.each([
    [{ simPagination: 'sideways' }, '--sim-pagination must be one of page, cursor-default, cursor-only, page-only, got "sideways"'],
    [{ simPageCap: '0' }, '--sim-page-cap must be a whole number >= 1, got "0"'],
    [{ simPageCap: 'ten' }, '--sim-page-cap must be a whole number >= 1'],
    [{ simRate: '2.5' }, '--sim-rate must be a whole number >= 1, got "2.5"'],
    [{ simRate: '' }, '--sim-rate must be a whole number >= 1'],
    [{ simRate: '5', simRateWindow: '0' }, '--sim-rate-window must be a number of seconds > 0, got "0"'],
    [{ simRateWindow: '2' }, '--sim-rate-window needs --sim-rate'],
    [{ simInvalidCursor: 'ignore' }, '--sim-invalid-cursor must be one of first-page, reject'],
    [{ simUnreachable: 'sometimes' }, '--sim-unreachable must be one of hang, refuse'],
  ])('refuses %o with a usage error naming the flag', (flags, message) => {
    expect(() => parseSimFlags(flags)).toThrow(expect.objectContaining({ name: 'UsageError', message: expect.stringContaining(message) }));
  });
});
