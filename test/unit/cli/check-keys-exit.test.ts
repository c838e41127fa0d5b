import { describe, expect, it } from 'vitest';
import { checkKeysExitCode, type KeyCheck } from '../../../cli/commands/check-keys';

const check = (result: KeyCheck['result'], bindingProblems: string[] = []): KeyCheck => ({
  workspace: `w-${result}`,
  result,
  accounts: null,
  detail: '',
  binding: null,
  recordedId: null,
  bindingProblems,
});

describe('check-keys exit code', () => {
  it('is 0 when every key is OK', () => {
    expect(checkKeysExitCode([check('ok'), check('ok')])).toBe(0);
  });

  it('is 75 (EX_TEMPFAIL) when the only problem is a rate limit: try again later', () => {
    expect(checkKeysExitCode([check('ok'), check('rate-limited')])).toBe(75);
  });

  it('is 2 for any key problem, even beside a rate limit', () => {
    for (const result of ['rejected', 'bound-elsewhere', 'refused', 'unreachable', 'wrong-url', 'no-key'] as const) {
      expect(checkKeysExitCode([check('rate-limited'), check(result)])).toBe(2);
    }
    expect(checkKeysExitCode([check('rate-limited'), check('ok', ['MIXED WORKSPACES: …'])])).toBe(2);
  });
});
