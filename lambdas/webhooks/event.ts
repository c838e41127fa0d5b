import { MalformedWebhookError } from '../errors';
import { MAX_DEPTH, nestsDeeperThan, strictTimestampMs, unstorableString, wholeId } from './strict';

/*
 * EmailBison's account webhooks as delivered (../shared/DESIGN.md, "Webhook deliveries"):
 *   {"event": {"type": "EMAIL_ACCOUNT_DISCONNECTED", "name", "instance_url", "workspace_id", "workspace_name"},
 *    "data": {"sender_email": {id, email, status, daily_limit, emails_sent, replied, ..., updated_at}}}
 * The test event of POST /api/webhook-events/test-event comes wrapped once more
 * ({"data": {"event", "data"}}). Types are UPPERCASE in deliveries and lowercase in
 * subscriptions; both are accepted. The counters have other names than the REST row
 * (`emails_sent`, not `emails_sent_count`): toRestFields maps them.
 *
 * Tag events: no integration has published their `data`. Accepted: `data.tag` ({id, name})
 * with `taggable_type` / `taggableType` and `taggable_id` / `taggableId` (at the top of
 * `data` or inside `tag`), or a `data.sender_email` beside the tag. A taggable that is not
 * a sender email (a lead, a campaign) is understood and ignored.
 */

export const ACCOUNT_EVENT_TYPES = [
  'email_account_added',
  'email_account_removed',
  'email_account_disconnected',
  'email_account_reconnected',
  'tag_attached',
  'tag_removed',
  'warmup_disabled_receiving_bounces',
  'warmup_disabled_causing_bounces',
] as const;

export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number];

export interface WebhookSenderEmail {
  id: number;
  email: string | null;
  status: string | null;
  updatedAt: string | null;
  /** The item in the REST row's names (emails_sent_count, ...), for an account the webhook adds. */
  restFields: Record<string, unknown>;
}

export interface WebhookTag {
  id: number | null;
  name: string;
}

export interface AccountEvent {
  type: AccountEventType;
  /** When the receiver took the delivery (ISO-8601): the event's time when it has no updated_at. */
  receivedAt: string;
  /** The EmailBison workspace the event is about, when it says. */
  emailbisonWorkspaceId: number | null;
  instanceUrl: string | null;
  /** Undefined for a tag event on something other than a sender email. */
  senderEmail?: WebhookSenderEmail;
  tag?: WebhookTag;
  /** A tag event whose taggable is not a sender email: nothing to apply (why, never the body's words). */
  ignoredTaggable?: string;
}

/** The webhook's counter names and the REST row's. */
const COUNTER_NAMES: Record<string, string> = {
  emails_sent: 'emails_sent_count',
  replied: 'total_replied_count',
  unique_replies: 'unique_replied_count',
  opened: 'total_opened_count',
  unique_opens: 'unique_opened_count',
  bounced: 'bounced_count',
  unsubscribed: 'unsubscribed_count',
  interested: 'interested_leads_count',
  total_leads_contacted: 'total_leads_contacted_count',
  account_type: 'type',
};

type Json = Record<string, unknown>;

export interface ParseOptions {
  /** When the receiver took the delivery; default now. */
  receivedAt?: Date;
}

/** The delivery's body as an event; throws MalformedWebhookError (answer 400) for anything else. */
export function parseAccountEvent(body: string, options: ParseOptions = {}): AccountEvent {
  const receivedAt = options.receivedAt ?? new Date();
  // Before JSON.parse: nothing recursive ever sees a deep body.
  if (nestsDeeperThan(body, MAX_DEPTH)) throw new MalformedWebhookError(`The delivery nests deeper than ${MAX_DEPTH} levels.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedWebhookError('The delivery is not JSON.');
  }
  const unstorable = unstorableString(parsed);
  if (unstorable) throw new MalformedWebhookError(`The delivery has ${unstorable}.`);
  return readAccountEvent(parsed, receivedAt);
}

function readAccountEvent(parsed: unknown, receivedAt: Date): AccountEvent {
  const envelope = unwrap(parsed);
  const event = envelope.event as Json;
  const data = (isObject(envelope.data) ? envelope.data : {}) as Json;
  const rawType = typeof event.type === 'string' ? event.type : typeof event.name === 'string' ? event.name : undefined;
  const type = rawType?.trim().toLowerCase() as AccountEventType | undefined;
  if (!type || !ACCOUNT_EVENT_TYPES.includes(type)) {
    // The type is not quoted: an error's message is logged, and nothing of a body is.
    throw new MalformedWebhookError(rawType ? 'Unknown event type.' : 'The event has no type.');
  }
  const nowMs = receivedAt.getTime();
  const result = {
    type,
    receivedAt: receivedAt.toISOString(),
    emailbisonWorkspaceId: optionalId(event.workspace_id, 'event.workspace_id'),
    instanceUrl: optionalString(event.instance_url, 'event.instance_url'),
  };
  if (type === 'tag_attached' || type === 'tag_removed') return { ...result, ...tagParts(data, nowMs) };
  return { ...result, senderEmail: senderEmailOf(data.sender_email, type === 'email_account_added', nowMs) };
}

function unwrap(parsed: unknown): Json {
  if (!isObject(parsed)) throw new MalformedWebhookError('The delivery is not a JSON object.');
  if (isObject(parsed.event)) return parsed;
  if (isObject(parsed.data) && isObject(parsed.data.event)) return parsed.data;
  throw new MalformedWebhookError('The delivery has no "event" object (nor "data.event", the test-event shape).');
}

function senderEmailOf(value: unknown, isAdded: boolean, nowMs: number): WebhookSenderEmail {
  if (!isObject(value)) throw new MalformedWebhookError('The delivery has no "data.sender_email" object.');
  const id = requiredId(value.id, 'data.sender_email.id');
  const email = optionalString(value.email, 'data.sender_email.email');
  if (isAdded && (email === null || email.trim() === '')) throw new MalformedWebhookError('"data.sender_email.email" is missing.');
  const updatedAt = optionalTimestamp(value.updated_at, 'data.sender_email.updated_at', nowMs);
  optionalTimestamp(value.created_at, 'data.sender_email.created_at', nowMs);
  if (value.tags !== undefined && value.tags !== null) tagList(value.tags);
  return {
    id,
    email: email !== null && email.trim() !== '' ? email : null,
    status: optionalString(value.status, 'data.sender_email.status'),
    updatedAt,
    restFields: Object.fromEntries(Object.entries(value).map(([key, v]) => [COUNTER_NAMES[key] ?? key, v])),
  };
}

function tagParts(data: Json, nowMs: number): Pick<AccountEvent, 'senderEmail' | 'tag' | 'ignoredTaggable'> {
  const tagObject = isObject(data.tag) ? data.tag : undefined;
  if (!tagObject || typeof tagObject.name !== 'string') throw new MalformedWebhookError('The tag event has no "data.tag" with a name.');
  const tag = { id: optionalId(tagObject.id, 'data.tag.id'), name: tagObject.name };
  const taggableType = firstString(data.taggable_type, data.taggableType, tagObject.taggable_type, tagObject.taggableType);
  if (taggableType !== undefined && !/sender.?email/i.test(taggableType)) return { tag, ignoredTaggable: 'not a sender email' };
  if (isObject(data.sender_email)) return { tag, senderEmail: senderEmailOf(data.sender_email, false, nowMs) };
  const taggableId = optionalId(data.taggable_id ?? data.taggableId ?? tagObject.taggable_id ?? tagObject.taggableId, 'taggable_id');
  if (taggableType === undefined || taggableId === null) {
    throw new MalformedWebhookError('The tag event names no sender email (taggable_type and taggable_id, or data.sender_email).');
  }
  return { tag, senderEmail: { id: taggableId, email: null, status: null, updatedAt: null, restFields: {} } };
}

/** An added account's tags are stored as they come, and every later tag event reads them: {id, name} objects only. */
function tagList(value: unknown): void {
  if (!Array.isArray(value)) throw new MalformedWebhookError('"data.sender_email.tags" is not an array.');
  for (const tag of value) {
    if (!isObject(tag) || typeof tag.name !== 'string') {
      throw new MalformedWebhookError('"data.sender_email.tags" holds something other than {id, name} objects.');
    }
    requiredId(tag.id, 'data.sender_email.tags[].id');
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredId(value: unknown, field: string): number {
  const id = optionalId(value, field);
  if (id === null) throw new MalformedWebhookError(`"${field}" is missing.`);
  return id;
}

/** Absent (undefined or null) is null; anything present must be a whole number in 1..2^53-1. */
function optionalId(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  const id = wholeId(value);
  if (id === undefined) throw new MalformedWebhookError(`"${field}" is not a whole number from 1 to 2^53-1.`);
  return id;
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new MalformedWebhookError(`"${field}" is not a string.`);
  return value;
}

function optionalTimestamp(value: unknown, field: string, nowMs: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || strictTimestampMs(value, nowMs) === undefined) {
    throw new MalformedWebhookError(`"${field}" is not an ISO-8601 date-time between 2000 and tomorrow.`);
  }
  return value;
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value.trim() !== '');
}
