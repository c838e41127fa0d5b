import { describe, expect, it } from 'vitest';
import { parseExecutionInput } from '../../../lambdas/jobs/execution-input';

describe('parseExecutionInput, the warmup mode', () => {
  it('takes {"mode": "warmup"} with an optional day, and "sync" as the default mode', () => {
    expect(parseExecutionInput({})).toEqual({});
    expect(parseExecutionInput({ mode: 'warmup' })).toEqual({ mode: 'warmup' });
    expect(parseExecutionInput({ mode: 'warmup', day: '2026-12-04', workspaces: ['Acme'] })).toEqual({
      mode: 'warmup',
      day: '2026-12-04',
      workspaces: ['Acme'],
    });
    expect(parseExecutionInput({ mode: 'sync' })).toEqual({ mode: 'sync' });
  });

  it.each([
    [{ mode: 'warm' }, /"mode" must be "sync" or "warmup"/],
    [{ mode: 'warmup', day: '2026-02-30' }, /"day" must be a date as YYYY-MM-DD/],
    [{ mode: 'warmup', day: 20261204 }, /"day" must be a date as YYYY-MM-DD/],
    [{ day: '2026-12-04' }, /"day" is for "mode": "warmup" only/],
  ])('refuses %j with InvalidInputError', (input, message) => {
    expect(() => parseExecutionInput(input)).toThrow(message);
    try {
      parseExecutionInput(input);
    } catch (error) {
      expect((error as Error).name).toBe('InvalidInputError');
    }
  });
});
