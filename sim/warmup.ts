import type { RawSenderEmail, RawTag } from './data';
import { chance, intBetween, randomFor } from './random';

/*
 * EmailBison's warmup figures (DESIGN.md, "Corrections and additions (December 2026)"):
 * `GET /api/warmup/sender-emails?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD` (both required,
 * page mode, 15 a page) and `GET /api/warmup/sender-emails/{id}` with the same dates. Each
 * account's figures for a day come from the seed (so every run of a scenario serves the same
 * ones); a test or the health engineer sets an account's figures for a day to make a score drop.
 */

/** The figures of one account over the dates asked for. */
export interface WarmupFigures {
  warmup_emails_sent: number;
  warmup_replies_received: number;
  warmup_emails_saved_from_spam: number;
  warmup_score: number;
  warmup_bounces_received_count: number;
  warmup_bounces_caused_count: number;
  warmup_disabled_for_bouncing_count: number;
}

export const WARMUP_FIGURES: readonly (keyof WarmupFigures)[] = [
  'warmup_emails_sent',
  'warmup_replies_received',
  'warmup_emails_saved_from_spam',
  'warmup_score',
  'warmup_bounces_received_count',
  'warmup_bounces_caused_count',
  'warmup_disabled_for_bouncing_count',
];

/** One item of the warmup list: the account's identity and its figures. */
export interface RawWarmupItem extends WarmupFigures {
  id: number;
  email: string;
  name: string | null;
  domain: string;
  tags: RawTag[];
}

export const WARMUP_LIST_PATH = '/api/warmup/sender-emails';

/** Longest range one request may ask for: a year, so a range's figures are bounded work. */
const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

/** A validated date range, as whole UTC days, or Laravel's 422 body naming what is wrong. */
export type WarmupRange = { ok: true; start: string; end: string; days: string[] } | { ok: false; body: unknown };

/** Laravel's `required|date_format:Y-m-d` on both dates and `after_or_equal:start_date` on the end. */
export function warmupRange(query: URLSearchParams): WarmupRange {
  const errors: Record<string, string[]> = {};
  const start = checkedDate(query.get('start_date'), 'start date', 'start_date', errors);
  const end = checkedDate(query.get('end_date'), 'end date', 'end_date', errors);
  if (start !== undefined && end !== undefined && end < start) {
    errors.end_date = ['The end date field must be a date after or equal to start date.'];
  }
  const days = start !== undefined && end !== undefined && end >= start ? daysBetween(start, end) : [];
  if (days.length > MAX_RANGE_DAYS) errors.end_date = [`The range must not be longer than ${MAX_RANGE_DAYS} days.`];
  const messages = Object.values(errors).flat();
  if (messages.length > 0) {
    const more = messages.length > 1 ? ` (and ${messages.length - 1} more error${messages.length > 2 ? 's' : ''})` : '';
    return { ok: false, body: { message: `${messages[0]}${more}`, errors } };
  }
  return { ok: true, start: start!, end: end!, days };
}

function checkedDate(value: string | null, label: string, field: string, errors: Record<string, string[]>): string | undefined {
  if (value === null || value.trim() === '') {
    errors[field] = [`The ${label} field is required.`];
    return undefined;
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!date || date.toISOString().slice(0, 10) !== value) {
    errors[field] = [`The ${label} field must match the format Y-m-d.`];
    return undefined;
  }
  return value;
}

function daysBetween(start: string, end: string): string[] {
  const days: string[] = [];
  const last = Date.parse(`${end}T00:00:00Z`);
  for (let ms = Date.parse(`${start}T00:00:00Z`); ms <= last && days.length <= MAX_RANGE_DAYS; ms += DAY_MS) {
    days.push(new Date(ms).toISOString().slice(0, 10));
  }
  return days;
}

/** The warmup figures of every account, per day: seeded, unless a test set them. */
export class SimWarmup {
  readonly #overrides = new Map<string, Partial<WarmupFigures>>();

  constructor(private readonly seed: number) {}

  /** Sets some or all of an account's figures for one day (what is not given stays seeded). */
  set(id: number, day: string, figures: Partial<WarmupFigures>): void {
    const key = `${id}:${day}`;
    this.#overrides.set(key, { ...this.#overrides.get(key), ...figures });
  }

  /** One account's figures for one day. */
  day(account: RawSenderEmail, day: string): WarmupFigures {
    return { ...this.#seeded(account, day), ...this.#overrides.get(`${account.id}:${day}`) };
  }

  /** Over a range: the counts summed, the score and the disabled count as of its last day. */
  range(account: RawSenderEmail, days: readonly string[]): WarmupFigures {
    const each = days.map((day) => this.day(account, day));
    const last = each.at(-1)!;
    const sum = (field: keyof WarmupFigures) => each.reduce((total, figures) => total + figures[field], 0);
    return {
      warmup_emails_sent: sum('warmup_emails_sent'),
      warmup_replies_received: sum('warmup_replies_received'),
      warmup_emails_saved_from_spam: sum('warmup_emails_saved_from_spam'),
      warmup_score: last.warmup_score,
      warmup_bounces_received_count: sum('warmup_bounces_received_count'),
      warmup_bounces_caused_count: sum('warmup_bounces_caused_count'),
      warmup_disabled_for_bouncing_count: last.warmup_disabled_for_bouncing_count,
    };
  }

  item(account: RawSenderEmail, days: readonly string[]): RawWarmupItem {
    return {
      id: account.id,
      email: account.email,
      name: account.name,
      domain: account.email.slice(account.email.lastIndexOf('@') + 1),
      tags: account.tags,
      ...this.range(account, days),
    };
  }

  #seeded(account: RawSenderEmail, day: string): WarmupFigures {
    const random = randomFor(this.seed, 'warmup', account.id, day);
    const sent = account.warmup_enabled === false ? 0 : intBetween(random, 10, 40);
    const bouncing = chance(random, 0.03);
    return {
      warmup_emails_sent: sent,
      warmup_replies_received: Math.floor(sent * (0.2 + random() * 0.5)),
      warmup_emails_saved_from_spam: Math.floor(sent * random() * 0.1),
      warmup_score: intBetween(random, bouncing ? 40 : 70, 100),
      warmup_bounces_received_count: bouncing ? intBetween(random, 1, 5) : 0,
      warmup_bounces_caused_count: bouncing ? intBetween(random, 0, 3) : 0,
      warmup_disabled_for_bouncing_count: bouncing && chance(random, 0.3) ? 1 : 0,
    };
  }
}

/** `POST /_sim/warmup {"account": id, "day": "YYYY-MM-DD", "warmup_score": 41, ...}`: the figures to set, or what is wrong. */
export function warmupOverride(body: unknown): { id: number; day: string; figures: Partial<WarmupFigures> } | string {
  const usage = `Give {"account": id, "day": "YYYY-MM-DD", and any of ${WARMUP_FIGURES.join(', ')} (numbers >= 0; warmup_score up to 100)}.`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return usage;
  const record = body as Record<string, unknown>;
  const id = record.account;
  const day =
    typeof record.day === 'string' ? warmupRange(new URLSearchParams({ start_date: record.day, end_date: record.day })) : undefined;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || !day?.ok) return usage;
  const figures: Partial<WarmupFigures> = {};
  for (const field of WARMUP_FIGURES) {
    const value = record[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (field === 'warmup_score' && value > 100)) return usage;
    figures[field] = value;
  }
  const unknown = Object.keys(record).filter((key) => key !== 'account' && key !== 'day' && !WARMUP_FIGURES.includes(key as never));
  if (unknown.length > 0 || Object.keys(figures).length === 0) return usage;
  return { id, day: day.start, figures };
}
