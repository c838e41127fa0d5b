import { describe, expect, it } from 'vitest';
import { EVENT_LOG_DAYS, eventLogWindow } from '../../../lambdas/sync/event-log';

const NOW = Date.parse('2026-12-05T07:30:00Z');

describe('the event log window', () => {
  it('reads the log’s 10 days when nothing was read yet, both dates always', () => {
    expect(eventLogWindow(NOW, undefined)).toEqual({ startDate: '2026-11-26', endDate: '2026-12-06' });
    expect(EVENT_LOG_DAYS).toBe(10);
  });

  it('starts the day before the last event read', () => {
    expect(eventLogWindow(NOW, new Date('2026-12-04T23:59:00Z'))).toEqual({ startDate: '2026-12-03', endDate: '2026-12-06' });
  });

  it('never starts more than 9 days back, however old the position', () => {
    expect(eventLogWindow(NOW, new Date('2026-10-01T00:00:00Z')).startDate).toBe('2026-11-26');
  });
});
