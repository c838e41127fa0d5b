import type { Sql } from '../db/client';

/*
 * Disconnections, removals and warmup disabled for bounces that arrive by webhook go to the ChangesTopic as they come,
 * at most one message per workspace per window (5 minutes): an instance-wide outage sends
 * hundreds of deliveries in a minute, and the people subscribed want one message saying
 * so, not hundreds.
 *
 * The pending items are the webhook change rows after webhook_publish_state's pointer
 * (010). The first disconnection of a quiet workspace is published by the delivery that
 * brings it; those that follow inside the window wait, and go out with the first
 * delivery (of any workspace) after the window closes. Should none come, Finalize job's
 * digest names them (it counts every change row since the previous run, webhooks
 * included) and markWebhookChangesDigested advances the pointers, so nothing waits longer
 * than a run and nothing is told twice. A row lock (skip locked) makes two receivers racing
 * on one workspace publish once; a failed publish rolls the claim back, so the items stay
 * pending.
 */

export const PUBLISH_WINDOW_SECONDS = 300;
/** Accounts named in one message; the rest are counted. */
export const MAX_LISTED = 50;

export interface ChangesMessage {
  subject: string;
  text: string;
}

export interface ChangesPublisher {
  publish(message: ChangesMessage): Promise<void>;
}

export interface PendingChange {
  email: string | null;
  field: 'status' | 'removed' | 'warmup_enabled';
  oldValue: unknown;
  newValue: unknown;
}

/** Publishes each due workspace's pending items; returns the messages sent. */
export async function publishDueWebhookChanges(
  sql: Sql,
  publisher: ChangesPublisher,
  options: { windowSeconds?: number } = {},
): Promise<{ messages: number; items: number }> {
  const windowSeconds = options.windowSeconds ?? PUBLISH_WINDOW_SECONDS;
  const due = await sql<{ workspace_id: number }[]>`
    select s.workspace_id from webhook_publish_state s
    where (s.last_published_at is null or s.last_published_at <= now() - make_interval(secs => ${windowSeconds}))
      and exists (
        select 1 from sender_email_changes c
        where c.workspace_id = s.workspace_id and c.source = 'webhook' and c.id > s.published_through_id and ${publishable(sql)}
      )
  `;
  let messages = 0;
  let items = 0;
  for (const { workspace_id } of due) {
    const sent = await sql.begin(async (tx) => {
      const [state] = await tx<{ published_through_id: number; name: string }[]>`
        select s.published_through_id, w.name
        from webhook_publish_state s join workspaces w on w.id = s.workspace_id
        where s.workspace_id = ${workspace_id}
          and (s.last_published_at is null or s.last_published_at <= now() - make_interval(secs => ${windowSeconds}))
        for update of s skip locked
      `;
      if (!state) return 0;
      const pending = await tx<(PendingChange & { id: number })[]>`
        select c.id, c.email, c.field, c.old_value as "oldValue", c.new_value as "newValue"
        from sender_email_changes c
        where c.workspace_id = ${workspace_id} and c.source = 'webhook' and c.id > ${state.published_through_id} and ${publishable(tx as unknown as Sql)}
        order by c.id
      `;
      if (pending.length === 0) return 0;
      await publisher.publish(changesMessage(state.name, pending));
      await tx`
        update webhook_publish_state
        set published_through_id = ${pending[pending.length - 1].id}, last_published_at = now()
        where workspace_id = ${workspace_id}
      `;
      return pending.length;
    });
    if (sent > 0) {
      messages += 1;
      items += sent;
    }
  }
  return { messages, items };
}

/** The newest webhook change row: read before a digest, so marking it told covers no later change. */
export async function webhookChangesHighWater(sql: Sql): Promise<number> {
  const [row] = await sql<{ id: string }[]>`select coalesce(max(id), 0)::text as id from sender_email_changes where source = 'webhook'`;
  return Number(row.id);
}

/**
 * For Finalize job, once its digest is published: every webhook change up to the high
 * water read before the digest counts as told, so pending ones are not sent again after
 * the digest named them (and one that arrived meanwhile still goes out).
 */
export async function markWebhookChangesDigested(sql: Sql, throughId: number): Promise<void> {
  await sql`
    update webhook_publish_state s set published_through_id = latest.id
    from (
      select workspace_id, max(id) as id from sender_email_changes
      where source = 'webhook' and id <= ${throughId}
      group by workspace_id
    ) latest
    where latest.workspace_id = s.workspace_id and latest.id > s.published_through_id
  `;
}

/** One workspace's disconnections and removals: at most MAX_LISTED named, the rest counted. Never a key. */
export function changesMessage(workspace: string, pending: PendingChange[]): ChangesMessage {
  const disconnected = pending.filter((change) => change.field === 'status').length;
  const removed = pending.filter((change) => change.field === 'removed').length;
  const warmupDisabled = pending.length - disconnected - removed;
  const what = [
    disconnected ? `${disconnected} disconnected` : '',
    removed ? `${removed} removed` : '',
    warmupDisabled ? `${warmupDisabled} warmup disabled (bounces)` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const lines = pending
    .slice(0, MAX_LISTED)
    .map((change) =>
      change.field === 'removed'
        ? `  ${change.email ?? '(unknown email)'}: removed`
        : change.field === 'warmup_enabled'
          ? `  ${change.email ?? '(unknown email)'}: warmup disabled (bounces)`
          : `  ${change.email ?? '(unknown email)'}: ${String(change.oldValue ?? 'unknown')} -> ${String(change.newValue)}`,
    );
  if (pending.length > MAX_LISTED) lines.push(`  ... and ${pending.length - MAX_LISTED} more`);
  return {
    // SNS subjects: ASCII, no line breaks, at most 100 characters.
    subject: `sender-sync: ${what} in ${workspace}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
    text: [`Workspace "${workspace}": ${what} (reported by EmailBison webhooks)`, ...lines].join('\n'),
  };
}

function publishable(sql: Sql) {
  return sql`((c.field = 'removed' and c.new_value = 'true') or (c.field = 'status' and lower(coalesce(c.new_value #>> '{}', '')) <> 'connected')
    or (c.field = 'warmup_enabled' and c.new_value = 'false' and c.reason like 'warmup_disabled_%'))`;
}
