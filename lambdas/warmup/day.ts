/** A calendar day as EmailBison's warmup dates take it (Y-m-d), and a real one (no 2026-02-30). */
export function isWarmupDay(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

/** The UTC day of an instant: the warmup pass's day by default. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
