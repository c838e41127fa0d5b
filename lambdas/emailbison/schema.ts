import * as z from 'zod';

/**
 * The shapes EmailBison serves, checked with zod. Objects are loose: EmailBison adds fields
 * without notice and the raw item is passed on whole. A page must have `data` and `meta`;
 * an item must have an id and an email, and every other field that is missing or of an
 * unexpected type becomes null rather than losing the account.
 */

export interface SenderEmailTag {
  id: number;
  name: string;
  default: boolean;
}

export interface SenderEmail {
  id: number;
  email: string;
  name: string | null;
  emailSignature: string | null;
  dailyLimit: number | null;
  type: string | null;
  status: string | null;
  tags: SenderEmailTag[];
  emailsSentCount: number | null;
  totalRepliedCount: number | null;
  uniqueRepliedCount: number | null;
  totalOpenedCount: number | null;
  uniqueOpenedCount: number | null;
  bouncedCount: number | null;
  unsubscribedCount: number | null;
  interestedLeadsCount: number | null;
  totalLeadsContactedCount: number | null;
  warmupEnabled: boolean | null;
  createdAt: string | null;
  updatedAt: string | null;
  /** The whole API item as served, unknown fields included. */
  raw: Record<string, unknown>;
}

const digits = /^\d+$/;
const wholeNumber = z.preprocess(
  (value) => (typeof value === 'string' && digits.test(value) ? Number(value) : value),
  z.number().int().nonnegative(),
);
const identifier = wholeNumber.pipe(z.number().positive());
const count = wholeNumber.nullable().catch(null);
const text = z.string().nullable().catch(null);
const flag = z
  .preprocess((value) => (value === 1 || value === '1' ? true : value === 0 || value === '0' ? false : value), z.boolean())
  .nullable()
  .catch(null);

const tag = z.looseObject({ id: identifier, name: z.string(), default: flag });
const tags = z
  .array(z.unknown())
  .catch([])
  .transform((values) =>
    values.flatMap((value) => {
      const parsed = tag.safeParse(value);
      return parsed.success ? [{ id: parsed.data.id, name: parsed.data.name, default: parsed.data.default ?? false }] : [];
    }),
  );

const senderEmailItem = z.looseObject({
  id: identifier,
  email: z.string().trim().min(1),
  name: text,
  email_signature: text,
  daily_limit: count,
  type: text,
  status: text,
  tags,
  emails_sent_count: count,
  total_replied_count: count,
  unique_replied_count: count,
  total_opened_count: count,
  unique_opened_count: count,
  bounced_count: count,
  unsubscribed_count: count,
  interested_leads_count: count,
  total_leads_contacted_count: count,
  warmup_enabled: flag,
  created_at: text,
  updated_at: text,
});

const links = z
  .looseObject({ next: z.string().nullish().catch(null) })
  .nullish()
  .catch(null);

const pageModePage = z.looseObject({
  data: z.array(z.unknown()),
  meta: z.looseObject({
    current_page: identifier,
    last_page: wholeNumber,
    total: wholeNumber,
  }),
  links,
});

/** Laravel's cursorPaginate: `meta` has `next_cursor` (null on the last page) and no total. */
const cursorModePage = z.looseObject({
  data: z.array(z.unknown()),
  meta: z.looseObject({
    next_cursor: z.string().min(1).nullable(),
  }),
});

/** Cursor tokens are stored (polling_job_workspaces.cursor_token) and carried in the state machine's payload. */
export const MAX_CURSOR_TOKEN_LENGTH = 1024;

/** A page as EmailBison served it, in whichever pagination mode it answered. */
export type ParsedPage =
  | { mode: 'page'; currentPage: number; lastPage: number; total: number; hasNext: boolean; data: unknown[] }
  | { mode: 'cursor'; nextCursor: string | null; data: unknown[] };

/**
 * Checks the page envelope; returns a description of what is wrong (field names only, never
 * values). The answer's mode is read from `meta`, whatever was asked: an instance may answer a
 * page request in cursor mode (DESIGN.md, "What changed by late 2026").
 */
export function parsePage(body: unknown): { ok: true; page: ParsedPage } | { ok: false; problem: string } {
  const meta = isRecord(body) && isRecord(body.meta) ? body.meta : undefined;
  if (meta && !('current_page' in meta) && 'next_cursor' in meta) {
    const parsed = cursorModePage.safeParse(body, { reportInput: true });
    if (!parsed.success) return { ok: false, problem: describeIssues(parsed.error) };
    const nextCursor = parsed.data.meta.next_cursor;
    if (nextCursor !== null && nextCursor.length > MAX_CURSOR_TOKEN_LENGTH) {
      return { ok: false, problem: `meta.next_cursor is longer than ${MAX_CURSOR_TOKEN_LENGTH} characters` };
    }
    return { ok: true, page: { mode: 'cursor', nextCursor, data: parsed.data.data } };
  }
  const parsed = pageModePage.safeParse(body, { reportInput: true });
  if (!parsed.success) return { ok: false, problem: describeIssues(parsed.error) };
  const { data, meta: pageMeta, links: pageLinks } = parsed.data;
  return {
    ok: true,
    page: {
      mode: 'page',
      currentPage: pageMeta.current_page,
      lastPage: pageMeta.last_page,
      total: pageMeta.total,
      hasNext: typeof pageLinks?.next === 'string' && pageLinks.next.length > 0,
      data,
    },
  };
}

export type ParsedItem = { ok: true; item: SenderEmail } | { ok: false; id: unknown; reason: string };

export function parseSenderEmail(value: unknown, position: number): ParsedItem {
  if (!isRecord(value)) return { ok: false, id: undefined, reason: `item at position ${position} is not an object` };
  const parsed = senderEmailItem.safeParse(value);
  if (!parsed.success) {
    const id = identifier.safeParse(value.id);
    if (!id.success) return { ok: false, id: value.id, reason: `item at position ${position} has no valid id` };
    return { ok: false, id: id.data, reason: `item ${id.data} has no email` };
  }
  const item = parsed.data;
  return {
    ok: true,
    item: {
      id: item.id,
      email: item.email,
      name: item.name,
      emailSignature: item.email_signature,
      dailyLimit: item.daily_limit,
      type: item.type,
      status: item.status,
      tags: item.tags,
      emailsSentCount: item.emails_sent_count,
      totalRepliedCount: item.total_replied_count,
      uniqueRepliedCount: item.unique_replied_count,
      totalOpenedCount: item.total_opened_count,
      uniqueOpenedCount: item.unique_opened_count,
      bouncedCount: item.bounced_count,
      unsubscribedCount: item.unsubscribed_count,
      interestedLeadsCount: item.interested_leads_count,
      totalLeadsContactedCount: item.total_leads_contacted_count,
      warmupEnabled: item.warmup_enabled,
      createdAt: item.created_at,
      updatedAt: item.updated_at,
      raw: value,
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((issue) => {
    if (issue.path.length === 0) return 'body is not a page object';
    const path = issue.path.join('.');
    return issue.code === 'invalid_type' && issue.input === undefined ? `missing ${path}` : `invalid ${path}`;
  });
  return issues.join(', ');
}
