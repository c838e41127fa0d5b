import { MalformedWebhookError } from '../errors';

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

export function parseAccountEvent(body: string): AccountEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedWebhookError('The delivery is not JSON.');
  }
  const envelope = unwrap(parsed);
  const event = envelope.event as Json;
  const data = (isObject(envelope.data) ? envelope.data : {}) as Json;
  const rawType = typeof event.type === 'string' ? event.type : typeof event.name === 'string' ? event.name : undefined;
  const type = rawType?.trim().toLowerCase() as AccountEventType | undefined;
  if (!type || !ACCOUNT_EVENT_TYPES.includes(type)) {
    // The type is not quoted: an error's message is logged, and nothing of a body is.
    throw new MalformedWebhookError(rawType ? 'Unknown event type.' : 'The event has no type.');
  }
  const result: AccountEvent = {
    type,
    emailbisonWorkspaceId: wholeNumber(event.workspace_id),
    instanceUrl: typeof event.instance_url === 'string' ? event.instance_url : null,
  };
  if (type === 'tag_attached' || type === 'tag_removed') return { ...result, ...tagParts(data) };
  return { ...result, senderEmail: senderEmailOf(data.sender_email, type === 'email_account_added') };
}

function unwrap(parsed: unknown): Json {
  if (!isObject(parsed)) throw new MalformedWebhookError('The delivery is not a JSON object.');
  if (isObject(parsed.event)) return parsed;
  if (isObject(parsed.data) && isObject(parsed.data.event)) return parsed.data;
  throw new MalformedWebhookError('The delivery has no "event" object (nor "data.event", the test-event shape).');
}

function senderEmailOf(value: unknown, needsEmail: boolean): WebhookSenderEmail {
  if (!isObject(value)) throw new MalformedWebhookError('The delivery has no "data.sender_email" object.');
  const id = wholeNumber(value.id);
  if (id === null || id <= 0) throw new MalformedWebhookError('"data.sender_email.id" is not a positive whole number.');
  const email = typeof value.email === 'string' && value.email.trim() !== '' ? value.email : null;
  if (needsEmail && email === null) throw new MalformedWebhookError('"data.sender_email.email" is missing.');
  return {
    id,
    email,
    status: typeof value.status === 'string' ? value.status : null,
    updatedAt: timestamp(value.updated_at),
    restFields: Object.fromEntries(Object.entries(value).map(([key, v]) => [COUNTER_NAMES[key] ?? key, v])),
  };
}

function tagParts(data: Json): Pick<AccountEvent, 'senderEmail' | 'tag' | 'ignoredTaggable'> {
  const tagObject = isObject(data.tag) ? data.tag : undefined;
  if (!tagObject || typeof tagObject.name !== 'string') throw new MalformedWebhookError('The tag event has no "data.tag" with a name.');
  const tag = { id: wholeNumber(tagObject.id), name: tagObject.name };
  const taggableType = firstString(data.taggable_type, data.taggableType, tagObject.taggable_type, tagObject.taggableType);
  if (taggableType !== undefined && !/sender.?email/i.test(taggableType)) return { tag, ignoredTaggable: 'not a sender email' };
  if (isObject(data.sender_email)) return { tag, senderEmail: senderEmailOf(data.sender_email, false) };
  const taggableId = wholeNumber(data.taggable_id ?? data.taggableId ?? tagObject.taggable_id ?? tagObject.taggableId);
  if (taggableType === undefined || taggableId === null || taggableId <= 0) {
    throw new MalformedWebhookError('The tag event names no sender email (taggable_type and taggable_id, or data.sender_email).');
  }
  return { tag, senderEmail: { id: taggableId, email: null, status: null, updatedAt: null, restFields: {} } };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wholeNumber(value: unknown): number | null {
  const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) ? number : null;
}

function timestamp(value: unknown): string | null {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : null;
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value.trim() !== '');
}
