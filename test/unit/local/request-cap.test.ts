import { describe, expect, it } from 'vitest';
import { localRequestCap } from '../../../local/request-cap';

describe('the request cap of a local run', () => {
  it('is off against the built-in simulator, and says why', () => {
    expect(localRequestCap({ env: {}, configuredMaxRps: 3, simulator: {} })).toEqual({
      maxRps: 0,
      note: 'request cap: off (the built-in simulator is not a shared instance; EMAILBISON_MAX_RPS=3 on a real instance)',
    });
  });

  it('keeps EMAILBISON_MAX_RPS when it is set, simulator or not', () => {
    expect(localRequestCap({ env: { EMAILBISON_MAX_RPS: '5' }, configuredMaxRps: 5, simulator: {} })).toEqual({
      maxRps: 5,
      note: 'request cap: 5 requests/s per instance (EMAILBISON_MAX_RPS)',
    });
    expect(
      localRequestCap({
        env: { EMAILBISON_MAX_RPS: '5' },
        configuredMaxRps: 5,
        simulator: { rateLimit: { requests: 50, windowSeconds: 1 } },
      }).maxRps,
    ).toBe(5);
    expect(localRequestCap({ env: { EMAILBISON_MAX_RPS: '0' }, configuredMaxRps: 0, simulator: {} }).note).toBe(
      'request cap: off (EMAILBISON_MAX_RPS)',
    );
  });

  it("follows a rate-limited simulator's limit when nothing is set", () => {
    expect(localRequestCap({ env: {}, configuredMaxRps: 3, simulator: { rateLimit: { requests: 30, windowSeconds: 10 } } })).toEqual({
      maxRps: 3,
      note: "request cap: 3 requests/s per instance, the simulated instance's limit (30 per 10 s); set EMAILBISON_MAX_RPS to choose another",
    });
    expect(
      localRequestCap({
        env: { EMAILBISON_MAX_RPS: ' ' },
        configuredMaxRps: 3,
        simulator: { rateLimit: { requests: 50, windowSeconds: 1 } },
      }).maxRps,
    ).toBe(50);
  });

  it('keeps the setting (or its default) for real workspaces', () => {
    expect(localRequestCap({ env: {}, configuredMaxRps: 3 })).toEqual({
      maxRps: 3,
      note: 'request cap: 3 requests/s per instance (EMAILBISON_MAX_RPS, the default)',
    });
  });
});
