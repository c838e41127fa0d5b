import type { Sql } from '../db/client';
import type { AccountEvent, WebhookSenderEmail, WebhookTag } from './event';
import { markDigestDue, type DigestTiming } from './publish';

/*
 * Applies one account event to sender_emails, in one transaction with its change row, so the
 * row is current when the applier commits: a delivered webhook (source 'webhook',
 * delivery_key = sha256 of the raw body) or an item of EmailBison's event log read by the
 * sync (source 'events', event_uuid, observed at the item's created_at; lambdas/sync/event-log.ts).
 * Invariants:
 * - Idempotent: a delivery whose key (a log item whose uuid) already wrote a change row is a
 *   replay and changes nothing; an event whose value the row already holds writes nothing
 *   either. So one change seen twice records one row, whichever comes first: a sync then a
 *   webhook, a webhook then the log, the log then a webhook.
 * - Never older than stored: an event whose time is before the row's
 *   emailbison_updated_at leaves the row alone. Its time is its updated_at, or when the
 *   receiver took it if it has none, so an event applied late (a queue, a retry) never
 *   overwrites what a newer one stored.
 * - raw stays the REST item with the applied field patched, so the typed columns remain a
 *   function of raw (lambdas/sync/upsert.ts compares raw).
 * - webhook_changed_at is set on every applied change: a sync page fetched before it does
 *   not undo it (the sync's side, 009).
 * - Only this workspace's row (workspace_id, emailbison_id) is read or written.
 * - Values as 009 records them: status text, removed true (false when a removed row comes
 *   back), added the status it arrived with, tags their sorted names, warmup booleans
 *   (a warmup_disabled_* event's row carries its type as the reason, 013).
 * - Id churn (012): an added account whose email is that of another account of the workspace
 *   (removed, or still live here because its removal was not delivered) is that account
 *   re-added under a new id: 'readded', old id -> new id, instead of 'added'. The next sync's
 *   removal of the old id then records no 'removed' row of its own.
 */

export type ApplyOutcome =
  /** changeId: the change row written (absent when an identical one existed); publishable: a disconnection, a removal or warmup disabled, for the digest. */
  | { outcome: 'applied'; field: ChangeField; publishable: boolean; changeId?: number }
  | { outcome: 'unchanged' | 'replayed' | 'stale' }
  | { outcome: 'ignored'; reason: string };

export type ChangeField = 'status' | 'removed' | 'tags' | 'warmup_enabled' | 'added' | 'readded';

/**
 * Where an event came from, and so what its change row carries: a webhook delivery (its
 * key; observed when applied), or an item of EmailBison's event log (its uuid; observed at
 * the item's created_at, lambdas/sync/event-log.ts). A delivery key alone means a webhook.
 */
export type EventOrigin = { source: 'webhook'; deliveryKey: string } | { source: 'events'; eventUuid: string; observedAt: string };

interface StoredRow {
  email: string;
  status: string | null;
  tags: { id: number | null; name: string; default?: boolean }[];
  warmup_enabled: boolean | null;
  deleted: boolean;
  emailbison_updated_at: Date | null;
}

interface Change {
  field: ChangeField;
  oldValue: unknown;
  newValue: unknown;
  reason?: string;
}

/** One event in its own transaction (the account's row locked until commit), its digest made due. */
export async function applyAccountEvent(
  sql: Sql,
  workspaceId: number,
  deliveryKey: string,
  event: AccountEvent,
  timing: DigestTiming = {},
): Promise<ApplyOutcome> {
  return sql.begin(async (tx) => {
    const applied = await applyAccountEventIn(tx as unknown as Sql, workspaceId, deliveryKey, event);
    if (applied.outcome === 'applied' && applied.publishable && applied.changeId !== undefined) {
      await markDigestDue(tx as unknown as Sql, workspaceId, applied.changeId, timing);
    }
    return applied;
  });
}

/**
 * One event inside the caller's transaction (the applier's batch: one savepoint per event).
 * The caller makes the digest due (markDigestDue) for a publishable change, after the
 * batch's account rows, so every transaction takes its locks in one order.
 */
export async function applyAccountEventIn(
  tx: Sql,
  workspaceId: number,
  from: string | EventOrigin,
  event: AccountEvent,
): Promise<ApplyOutcome> {
  if (event.ignoredTaggable) return { outcome: 'ignored', reason: event.ignoredTaggable };
  const origin: EventOrigin = typeof from === 'string' ? { source: 'webhook', deliveryKey: from } : from;
  const account = event.senderEmail!;
  const sameOrigin =
    origin.source === 'webhook'
      ? tx`source = 'webhook' and delivery_key = ${origin.deliveryKey}`
      : tx`source = 'events' and event_uuid = ${origin.eventUuid}`;
  // One round trip: was this body (or log item) applied before, and the account's row, locked until commit.
  const [found] = await tx<(StoredRow & { replayed: boolean; stored: boolean })[]>`
    select
      exists (
        select 1 from sender_email_changes
        where ${sameOrigin} and workspace_id = ${workspaceId}
      ) as replayed,
      se.emailbison_id is not null as stored,
      se.email, se.status, se.tags, se.warmup_enabled, se.deleted_at is not null as deleted, se.emailbison_updated_at
    from (select 1) as one
    left join lateral (
      select * from sender_emails where workspace_id = ${workspaceId} and emailbison_id = ${account.id} for update
    ) as se on true
  `;
  if (found.replayed) return { outcome: 'replayed' } as const;
  const row: StoredRow | undefined = found.stored ? found : undefined;
  const time = eventTime(event);
  if (row && isOlder(time, row.emailbison_updated_at)) return { outcome: 'stale' } as const;
  if (!row && event.type !== 'email_account_added') {
    return { outcome: 'ignored', reason: 'account not stored yet (the next sync adds it)' } as const;
  }
  const change = row ? await changeStored(tx, workspaceId, event, row) : await insertAdded(tx, workspaceId, account, time);
  if (!change) {
    // The value was already there, as of this event: a later-applied older one must still find it newer.
    if (row && (row.emailbison_updated_at === null || row.emailbison_updated_at.getTime() < Date.parse(time))) {
      await tx`
        update sender_emails set emailbison_updated_at = ${time}::timestamptz
        where workspace_id = ${workspaceId} and emailbison_id = ${account.id}
      `;
    }
    return { outcome: 'unchanged' } as const;
  }
  const email = row?.email ?? account.email;
  const deliveryKey = origin.source === 'webhook' ? origin.deliveryKey : null;
  const eventUuid = origin.source === 'events' ? origin.eventUuid : null;
  const observedAt = origin.source === 'events' ? origin.observedAt : null;
  const [written] = await tx<{ id: number }[]>`
    insert into sender_email_changes (
      workspace_id, emailbison_id, email, field, old_value, new_value, source, delivery_key, event_uuid, reason, observed_at
    )
    values (${workspaceId}, ${account.id}, ${email}, ${change.field}, ${json(change.oldValue)}::text::jsonb, ${json(change.newValue)}::text::jsonb,
            ${origin.source}, ${deliveryKey}, ${eventUuid}, ${change.reason ?? null}, coalesce(${observedAt}::timestamptz, now()))
    on conflict do nothing
    returning id
  `;
  const publishable =
    (change.field === 'removed' && change.newValue === true) ||
    (change.field === 'status' && !isConnected(change.newValue)) ||
    (change.field === 'warmup_enabled' && change.newValue === false);
  return { outcome: 'applied', field: change.field, publishable, changeId: written?.id } as const;
}

async function changeStored(sql: Sql, workspaceId: number, event: AccountEvent, row: StoredRow): Promise<Change | undefined> {
  const account = event.senderEmail!;
  const where = sql`workspace_id = ${workspaceId} and emailbison_id = ${account.id}`;
  const updatedAt = eventTime(event);
  const touched = sql`
    webhook_changed_at = now(),
    emailbison_updated_at = greatest(emailbison_updated_at, ${updatedAt}::timestamptz)
  `;
  switch (event.type) {
    case 'email_account_disconnected':
    case 'email_account_reconnected': {
      const status = account.status ?? (event.type === 'email_account_reconnected' ? 'Connected' : 'Not connected');
      if (row.status === status) return undefined;
      await sql`
        update sender_emails set status = ${status}, raw = raw || jsonb_build_object('status', ${status}::text), ${touched}
        where ${where}
      `;
      return { field: 'status', oldValue: row.status, newValue: status };
    }
    case 'email_account_removed': {
      if (row.deleted) return undefined;
      await sql`update sender_emails set deleted_at = now(), ${touched} where ${where}`;
      return { field: 'removed', oldValue: false, newValue: true };
    }
    case 'email_account_added': {
      // A live row already holds it (the sync saw it first); a removed one comes back, recorded as the sync records it (009).
      if (!row.deleted) return undefined;
      await sql`update sender_emails set deleted_at = null, ${touched} where ${where}`;
      return { field: 'removed', oldValue: true, newValue: false };
    }
    case 'tag_attached':
    case 'tag_removed': {
      const tags = nextTags(row.tags, event.tag!, event.type === 'tag_attached');
      if (!tags) return undefined;
      await sql`
        update sender_emails set tags = ${json(tags)}::text::jsonb, raw = raw || jsonb_build_object('tags', ${json(tags)}::text::jsonb), ${touched}
        where ${where}
      `;
      return { field: 'tags', oldValue: tagNames(row.tags), newValue: tagNames(tags) };
    }
    case 'warmup_disabled_receiving_bounces':
    case 'warmup_disabled_causing_bounces': {
      if (row.warmup_enabled === false) return undefined;
      await sql`
        update sender_emails set warmup_enabled = false, raw = raw || '{"warmup_enabled": false}'::jsonb, ${touched}
        where ${where}
      `;
      return { field: 'warmup_enabled', oldValue: row.warmup_enabled, newValue: false, reason: event.type };
    }
  }
}

/** An account EmailBison says was added and no row holds yet: stored from the delivery, in the REST row's names. */
async function insertAdded(sql: Sql, workspaceId: number, account: WebhookSenderEmail, updatedAt: string): Promise<Change> {
  const raw = account.restFields;
  const int = (key: string) => wholeOrNull(raw[key]);
  const text = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : null);
  const tags = Array.isArray(raw.tags) ? raw.tags : [];
  await sql`
    insert into sender_emails (
      workspace_id, emailbison_id, email, name, email_signature, daily_limit, type, status, tags,
      emails_sent_count, total_replied_count, unique_replied_count, total_opened_count, unique_opened_count,
      bounced_count, unsubscribed_count, interested_leads_count, total_leads_contacted_count, warmup_enabled,
      emailbison_created_at, emailbison_updated_at, raw, webhook_changed_at
    ) values (
      ${workspaceId}, ${account.id}, ${account.email!}, ${text('name')}, ${text('email_signature')}, ${int('daily_limit')},
      ${text('type')}, ${account.status}, ${json(tags)}::text::jsonb,
      ${int('emails_sent_count')}, ${int('total_replied_count')}, ${int('unique_replied_count')}, ${int('total_opened_count')},
      ${int('unique_opened_count')}, ${int('bounced_count')}, ${int('unsubscribed_count')}, ${int('interested_leads_count')},
      ${int('total_leads_contacted_count')}, ${typeof raw.warmup_enabled === 'boolean' ? raw.warmup_enabled : null},
      ${timestampOrNull(raw.created_at)}::timestamptz, ${updatedAt}::timestamptz, ${json(raw)}::text::jsonb, now()
    )
  `;
  const [previous] = await sql<{ emailbison_id: string }[]>`
    select emailbison_id from sender_emails
    where workspace_id = ${workspaceId} and lower(email) = lower(${account.email!}) and emailbison_id <> ${account.id}
    order by deleted_at is not null, deleted_at desc, emailbison_id desc
    limit 1
  `;
  if (previous) return { field: 'readded', oldValue: Number(previous.emailbison_id), newValue: account.id };
  return { field: 'added', oldValue: null, newValue: account.status };
}

/** The tags after the event, or undefined when they would not change. */
function nextTags(current: StoredRow['tags'], tag: WebhookTag, attach: boolean): StoredRow['tags'] | undefined {
  const same = (t: StoredRow['tags'][number]) => (tag.id !== null && t.id !== null ? t.id === tag.id : t.name === tag.name);
  const present = current.some(same);
  if (attach === present) return undefined;
  return attach ? [...current, { id: tag.id, name: tag.name, default: false }] : current.filter((t) => !same(t));
}

/** Change rows hold tags as their sorted names (009). */
function tagNames(tags: StoredRow['tags']): string[] {
  return tags.map((tag) => tag.name).sort();
}

/** The event's updated_at, or its arrival when it has none. */
function eventTime(event: AccountEvent): string {
  return event.senderEmail?.updatedAt ?? event.receivedAt;
}

function isOlder(eventUpdatedAt: string, storedUpdatedAt: Date | null): boolean {
  if (!storedUpdatedAt) return false;
  return Date.parse(eventUpdatedAt) < storedUpdatedAt.getTime();
}

function isConnected(status: unknown): boolean {
  return typeof status === 'string' && status.trim().toLowerCase() === 'connected';
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function wholeOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2_147_483_647 ? value : null;
}

function timestampOrNull(value: unknown): string | null {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : null;
}
