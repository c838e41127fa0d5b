import type { Sql } from '../db/client';
import type { EventLogAnswer, EventLogQuery } from '../emailbison/event-log';
import { describeError } from '../errors';
import { applyAccountEventIn } from '../webhooks/apply';
import { ACCOUNT_EVENT_TYPES, type AccountEvent, parseAccountEvent } from '../webhooks/event';
import { strictTimestampMs, wholeId } from '../webhooks/strict';
import type { WorkspaceRef } from '../workspaces/ref';

/*
 * Missed events recovered (issue 24, item 3). Each account sync also reads the workspace's
 * EmailBison event log (lambdas/emailbison/event-log.ts) for the account events since the
 * last one it read, and applies those no change row records yet, with the webhook's own
 * code (lambdas/webhooks/apply.ts): source 'events', observed at the item's created_at.
 *
 * - Dedupe. The log's payload is the delivery's {event, data}; the applier writes a change
 *   only when the row does not already hold the event's value, so a webhook and the log
 *   record one row for one change, whichever comes first. The log is applied before the
 *   walk writes anything (the sync awaits it before its first batch), so a change the walk
 *   also sees finds the row already changed and writes no 'sync' row: the log's time wins.
 *   A log item applied after a page fetched before it is not undone by that page
 *   (webhook_changed_at, 009). An item read twice writes nothing (its uuid is unique per
 *   account and field, 021).
 * - Position. The greatest event id read, and its time, per workspace: the next read starts
 *   on that day and skips ids at or below it. Items may come newest first (Laravel's
 *   cursorPaginate) or oldest first: they are applied oldest first either way, and a
 *   newest-first read stops at the first page that reaches the position.
 * - Bounds. The window: never more than EVENT_LOG_DAYS back, both dates always sent; pages
 *   per sync (a cap, with a warning naming the workspace); bytes and time per request and
 *   the host's budget (the request's); the sync's deadline (its signal).
 * - Never fails the workspace: an instance without the log (404) is said once per run (one
 *   warning naming the instance) and skipped by the run's other workspaces on it; a refused
 *   or unreadable page is a warning, and what was read before it is still applied. The walk
 *   runs whatever the log did, so nothing is lost: at worst a change is recorded by the walk
 *   at the time the walk saw it.
 */

/** EmailBison keeps about 10 days of events: the window never starts earlier than today minus 9. */
export const EVENT_LOG_DAYS = 10;
const DAY_MS = 86_400_000;
const MAX_UUID_LENGTH = 100;
/**
 * Items one read keeps at most, whatever the pages hold (each page is bounded in bytes, not in
 * items): 20,000 is ten bad days of 2,000 changes, a few megabytes of parsed events.
 */
export const MAX_EVENT_LOG_ITEMS = 20_000;

export interface RecoverEventsDeps {
  sql: Sql;
  /** One page of the log, with the request's bounds and retries (requestEventLogPage, bound to the workspace). */
  requestPage: (query: EventLogQuery) => Promise<EventLogAnswer>;
  /** The instance's host (instanceHost): an instance without the log is said once per run. */
  host: string;
  maxPages: number;
  now?: () => number;
  signal?: AbortSignal;
}

export interface RecoverEventsInput {
  jobId: string;
  workspace: WorkspaceRef;
}

export interface RecoverEventsResult {
  pages: number;
  /** Account events in the window past the position. */
  read: number;
  /** Change rows written. */
  applied: number;
  /** Said once per run for the instance, or skipped because another workspace said it. */
  absent?: 'said' | 'known';
  warnings: string[];
}

interface LogItem {
  id: number;
  uuid: string;
  createdAt: string;
  event?: AccountEvent;
}

/** Reads and applies the workspace's missed events; never throws but when the sync's signal aborts it. */
export async function recoverMissedEvents(deps: RecoverEventsDeps, input: RecoverEventsInput): Promise<RecoverEventsResult> {
  const { sql } = deps;
  const result: RecoverEventsResult = { pages: 0, read: 0, applied: 0, warnings: [] };
  const name = input.workspace.name;
  try {
    if (await knownAbsent(sql, deps.host, input.jobId)) return { ...result, absent: 'known' };
    const position = await readPosition(sql, input.workspace.id);
    // The EmailBison workspace the key reads, as the binding check recorded it: an item of another is not applied.
    const [{ emailbison_workspace_id: boundTo }] = await sql<{ emailbison_workspace_id: string | null }[]>`
      select emailbison_workspace_id from workspaces where id = ${input.workspace.id}
    `;
    const query = { ...eventLogWindow(deps.now?.() ?? Date.now(), position?.lastEventAt), cursor: null as string | null };
    const items: LogItem[] = [];
    let complete = false;
    let problem: string | undefined;
    let skipped = 0;
    while (result.pages < deps.maxPages && items.length < MAX_EVENT_LOG_ITEMS) {
      const answer = await deps.requestPage(query);
      if (answer.kind === 'absent') {
        const said = await markAbsent(sql, deps.host, input.jobId);
        if (said) result.warnings.push(`the event log was not read: ${deps.host} has none (GET /api/events answered HTTP 404)`);
        await recordWarnings(sql, input, result.warnings);
        return { ...result, absent: said ? 'said' : 'known' };
      }
      if (answer.kind !== 'page') {
        problem = answer.reason;
        break;
      }
      result.pages += 1;
      const page: LogItem[] = [];
      for (const raw of answer.items) {
        const item = readItem(raw, boundTo === null ? null : Number(boundTo));
        if (item === undefined) skipped += 1;
        else page.push(item);
      }
      items.push(...page);
      // Newest first, and down to what was read before: every later page is older still.
      const newestFirst = page.length > 1 && page[0].id > page[page.length - 1].id;
      const reachedPosition = position !== undefined && newestFirst && page.some((item) => item.id <= position.lastEventId);
      if (answer.nextCursor === null || reachedPosition) {
        complete = true;
        break;
      }
      query.cursor = answer.nextCursor;
    }
    if (problem) result.warnings.push(`the event log was read only in part: ${problem}; the walk records what it missed`);
    else if (!complete) {
      result.warnings.push(
        `the event log was read only in part: workspace "${name}" has more than ${deps.maxPages} page(s) ` +
          `(or ${MAX_EVENT_LOG_ITEMS} items) of events since the last read ` +
          '(EMAILBISON_EVENT_LOG_MAX_PAGES); the walk records what it missed',
      );
    }
    if (skipped > 0) result.warnings.push(`skipped ${skipped} event log item(s) that do not read as an account event of this workspace`);

    const fresh = items.filter((item) => position === undefined || item.id > position.lastEventId);
    fresh.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id - b.id);
    for (const item of fresh) {
      if (!item.event) continue;
      result.read += 1;
      deps.signal?.throwIfAborted();
      const outcome = await sql.begin((tx) =>
        applyAccountEventIn(
          tx as unknown as Sql,
          input.workspace.id,
          { source: 'events', eventUuid: item.uuid, observedAt: item.createdAt },
          item.event!,
        ),
      );
      if (outcome.outcome === 'applied') result.applied += 1;
    }
    // A read cut short moves the position only over what it read in order (oldest first): a
    // newest-first read cut short has not reached what lies before its last page.
    const ascending = items.every((item, index) => index === 0 || item.id > items[index - 1].id);
    if ((complete || ascending) && fresh.length > 0) await advancePosition(sql, input.workspace.id, fresh);
  } catch (error) {
    if (deps.signal?.aborted) throw error;
    result.warnings.push(`the event log was not read: ${describeError(error)}`);
  }
  await recordWarnings(sql, input, result.warnings).catch(() => {});
  return result;
}

/** start_date on the position's day (a day earlier: the instance's day may begin before UTC's), never before the log's 10 days; end_date tomorrow (UTC), for the same reason. */
export function eventLogWindow(nowMs: number, lastEventAt: Date | undefined): { startDate: string; endDate: string } {
  const earliest = nowMs - (EVENT_LOG_DAYS - 1) * DAY_MS;
  const from = lastEventAt === undefined ? earliest : Math.max(earliest, lastEventAt.getTime() - DAY_MS);
  return { startDate: day(from), endDate: day(nowMs + DAY_MS) };
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * One item: id, uuid and created_at it must have; its payload is read as a delivery is
 * (parseAccountEvent, with created_at as its arrival). An item of another type (lead, email
 * or campaign events share the log) keeps its place for the position, with no event; one
 * of another EmailBison workspace, or that does not read, is skipped.
 */
function readItem(raw: unknown, emailbisonWorkspaceId: number | null): LogItem | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const { id, uuid, created_at: createdAt, payload } = raw as Record<string, unknown>;
  const eventId = wholeId(id);
  if (eventId === undefined || typeof uuid !== 'string' || uuid.length === 0 || uuid.length > MAX_UUID_LENGTH) return undefined;
  if (typeof createdAt !== 'string' || strictTimestampMs(createdAt, Date.now()) === undefined) return undefined;
  const item: LogItem = { id: eventId, uuid, createdAt };
  const type = (payload as { event?: { type?: unknown } } | undefined)?.event?.type;
  if (typeof type !== 'string' || !(ACCOUNT_EVENT_TYPES as readonly string[]).includes(type.trim().toLowerCase())) return item;
  let event: AccountEvent;
  try {
    event = parseAccountEvent(JSON.stringify(payload), { receivedAt: new Date(createdAt) });
  } catch {
    return undefined;
  }
  if (emailbisonWorkspaceId !== null && event.emailbisonWorkspaceId !== null && event.emailbisonWorkspaceId !== emailbisonWorkspaceId) {
    return undefined;
  }
  return { ...item, event };
}

async function readPosition(sql: Sql, workspaceId: number): Promise<{ lastEventId: number; lastEventAt: Date } | undefined> {
  const [row] = await sql<{ last_event_id: string; last_event_at: Date }[]>`
    select last_event_id, last_event_at from workspace_event_log_positions where workspace_id = ${workspaceId}
  `;
  return row ? { lastEventId: Number(row.last_event_id), lastEventAt: row.last_event_at } : undefined;
}

/** Never backwards: two invocations racing leave the greater. */
async function advancePosition(sql: Sql, workspaceId: number, read: LogItem[]): Promise<void> {
  const last = read.reduce((a, b) => (b.id > a.id ? b : a));
  await sql`
    insert into workspace_event_log_positions (workspace_id, last_event_id, last_event_at)
    values (${workspaceId}, ${last.id}, ${last.createdAt}::timestamptz)
    on conflict (workspace_id) do update set last_event_id = excluded.last_event_id, last_event_at = excluded.last_event_at
      where workspace_event_log_positions.last_event_id < excluded.last_event_id
  `;
}

async function knownAbsent(sql: Sql, host: string, jobId: string): Promise<boolean> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from emailbison_event_log_missing where host = ${host} and job_id = ${jobId}::uuid
  `;
  return row.n > 0;
}

/** True for the one workspace of the run that found it first: it says so. */
async function markAbsent(sql: Sql, host: string, jobId: string): Promise<boolean> {
  const rows = await sql`
    insert into emailbison_event_log_missing (host, job_id) values (${host}, ${jobId}::uuid)
    on conflict (host) do update set job_id = excluded.job_id, found_at = now()
      where emailbison_event_log_missing.job_id is distinct from excluded.job_id
    returning host
  `;
  return rows.length > 0;
}

async function recordWarnings(sql: Sql, input: RecoverEventsInput, warnings: string[]): Promise<void> {
  if (warnings.length === 0) return;
  await sql`
    update polling_job_workspaces set warnings = warnings || ${warnings}::text[]
    where job_id = ${input.jobId} and workspace_id = ${input.workspace.id} and status in ('pending', 'running')
  `;
}
