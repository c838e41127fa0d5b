import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/client';
import { changesCommand, fitDigest } from '../digests/message';

/*
 * Disconnections, removals and warmup disabled for bounces that arrive by webhook go to the
 * ChangesTopic, at most one message per workspace per window (5 minutes): an instance-wide
 * outage sends hundreds of deliveries in a minute, and the people subscribed want one
 * message saying so, not hundreds.
 *
 * The pending items are the webhook change rows after webhook_publish_state's pointer
 * (010). Each pending item moves its workspace's digest_due_at (014): the digest goes out
 * once no new item came for a short gather (a burst goes out as one message), at most
 * MAX_GATHERS gathers after the first, never earlier than the window after the previous
 * message. The applier that makes a workspace's digest due schedules a tick for it (a
 * delayed SQS message on AWS, a timer in `webhooks serve`); a tick that finds the time moved
 * later schedules the next, so the digest goes out even if no other delivery comes. Should it never go out, Finalize job's digest names the items (it counts every
 * change row since the previous run, webhooks included) and markWebhookChangesDigested
 * advances the pointers, so nothing waits longer than a run and nothing is told twice.
 *
 * No SNS call is made while a transaction or a row lock is held: a workspace's digest is
 * claimed by one statement (claimed_until, claim_id), the claim commits, the message is
 * published, and then the pointer moves (published) or the claim is released (failed:
 * the items stay pending, due again a minute later). Two appliers racing on a workspace
 * publish once: the second's claim finds the first's. A claimer that died leaves a claim
 * that expires at claimed_until.
 */

export const PUBLISH_WINDOW_SECONDS = 300;
/** A workspace's digest waits until no new change came for this long: a burst of deliveries goes out as one message. */
export const DIGEST_GATHER_SECONDS = 10;
/** ...but no longer than this many gathers after its first pending change. */
const MAX_GATHERS = 6;
/** How long a claim holds: longer than any publish takes (the SNS client times out in seconds). */
const CLAIM_SECONDS = 120;
/** After a failed publish, the items are due again this much later. */
const RETRY_SECONDS = 60;
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
  /** When the change row was written: the oldest one's names the `sender-sync changes --since` of a digest cut short. */
  observedAt?: Date;
}

export interface DigestTiming {
  windowSeconds?: number;
  gatherSeconds?: number;
  /** After a failed publish, the items are due again this much later (default RETRY_SECONDS). */
  retrySeconds?: number;
}

/**
 * In the transaction that wrote a workspace's publishable changes (firstChangeId: the
 * lowest it wrote): moves its digest's due time (gather, cap, window). Returns the due time when the digest was not due before (the
 * caller schedules a tick for it once the transaction commits), else undefined.
 */
export async function markDigestDue(
  tx: Sql,
  workspaceId: number,
  firstChangeId: number,
  timing: DigestTiming = {},
): Promise<Date | undefined> {
  const gather = timing.gatherSeconds ?? DIGEST_GATHER_SECONDS;
  const window = timing.windowSeconds ?? PUBLISH_WINDOW_SECONDS;
  const [row] = await tx<{ digest_due_at: Date; previous: Date | null }[]>`
    with previous as (
      select digest_due_at from webhook_publish_state where workspace_id = ${workspaceId} for update
    ), moved as (
      insert into webhook_publish_state as s (workspace_id, published_through_id, digest_due_at, gather_started_at)
      values (${workspaceId}, ${firstChangeId - 1}, now() + make_interval(secs => ${gather}), now())
      on conflict (workspace_id) do update
        -- Change ids are taken at insert, commits come in any order: a change committed after the pointer
        -- passed its id would never be told. Lowering the pointer to it tells it, and at worst names again
        -- a change a concurrent digest already named (told twice rather than never).
        set published_through_id = least(s.published_through_id, ${firstChangeId - 1}),
            gather_started_at = coalesce(s.gather_started_at, now()),
            digest_due_at = greatest(
              least(now() + make_interval(secs => ${gather}), coalesce(s.gather_started_at, now()) + make_interval(secs => ${gather * MAX_GATHERS})),
              s.last_published_at + make_interval(secs => ${window})
            )
      returning s.digest_due_at
    )
    select moved.digest_due_at, (select digest_due_at from previous) as previous from moved
  `;
  return row.previous === null ? row.digest_due_at : undefined;
}

/** The due time of a workspace's digest when it is still to come (a tick that came early schedules the next for it). */
export async function digestDueLater(sql: Sql, workspaceId: number): Promise<Date | undefined> {
  const [row] = await sql<{ digest_due_at: Date }[]>`
    select digest_due_at from webhook_publish_state where workspace_id = ${workspaceId} and digest_due_at > now()
  `;
  return row?.digest_due_at;
}

export interface DigestStepResult {
  messages: number;
  items: number;
  failed: number;
  /** Due times this step set (more items came while it published, or a publish failed): schedule a tick for each. */
  dueAt: { workspaceId: number; at: Date }[];
  /** Sizes in bytes of the messages sent. */
  bytes: number[];
  /** The publishes that failed (their items stay pending): the caller logs them. */
  errors: { workspace: string; error: unknown }[];
}

/** Publishes each due workspace's pending items, one message each, holding no transaction or lock while publishing. */
export async function publishDueWebhookChanges(
  sql: Sql,
  publisher: ChangesPublisher,
  timing: DigestTiming = {},
): Promise<DigestStepResult> {
  const window = timing.windowSeconds ?? PUBLISH_WINDOW_SECONDS;
  const result: DigestStepResult = { messages: 0, items: 0, failed: 0, dueAt: [], bytes: [], errors: [] };
  const due = await sql<{ workspace_id: number }[]>`
    select workspace_id from webhook_publish_state
    where digest_due_at <= now() and (claimed_until is null or claimed_until < now())
    order by digest_due_at
  `;
  for (const { workspace_id } of due) {
    const claimId = randomUUID();
    const [claim] = await sql<{ published_through_id: number; name: string }[]>`
      update webhook_publish_state s set claimed_until = now() + make_interval(secs => ${CLAIM_SECONDS}), claim_id = ${claimId}
      from workspaces w
      where s.workspace_id = ${workspace_id} and w.id = s.workspace_id
        and s.digest_due_at <= now() and (s.claimed_until is null or s.claimed_until < now())
      returning s.published_through_id, w.name
    `;
    if (!claim) continue;
    const pending = await sql<(PendingChange & { id: number })[]>`
      select c.id, c.email, c.field, c.old_value as "oldValue", c.new_value as "newValue", c.observed_at as "observedAt"
      from sender_email_changes c
      where c.workspace_id = ${workspace_id} and c.source = 'webhook' and c.id > ${claim.published_through_id} and ${publishable(sql)}
      order by c.id
    `;
    if (pending.length === 0) {
      await sql`
        update webhook_publish_state set digest_due_at = null, gather_started_at = null, claimed_until = null, claim_id = null
        where workspace_id = ${workspace_id} and claim_id = ${claimId}
      `;
      continue;
    }
    // changesMessage fits the message into 200 KB (fitDigest), summarising what does not fit.
    const message = changesMessage(claim.name, pending);
    try {
      await publisher.publish(message);
    } catch (error) {
      result.failed += 1;
      const [released] = await sql<{ digest_due_at: Date }[]>`
        update webhook_publish_state
        set claimed_until = null, claim_id = null, digest_due_at = now() + make_interval(secs => ${timing.retrySeconds ?? RETRY_SECONDS})
        where workspace_id = ${workspace_id} and claim_id = ${claimId}
        returning digest_due_at
      `;
      if (released) result.dueAt.push({ workspaceId: workspace_id, at: released.digest_due_at });
      result.errors.push({ workspace: claim.name, error });
      continue;
    }
    const through = pending[pending.length - 1].id;
    const [recorded] = await sql<{ digest_due_at: Date | null }[]>`
      update webhook_publish_state s
      set published_through_id = greatest(s.published_through_id, ${through}), last_published_at = now(), claimed_until = null, claim_id = null,
          gather_started_at = null,
          digest_due_at = case
            when exists (
              select 1 from sender_email_changes c
              where c.workspace_id = s.workspace_id and c.source = 'webhook' and c.id > ${through} and ${publishable(sql)}
            ) then now() + make_interval(secs => ${window})
          end
      where s.workspace_id = ${workspace_id} and s.claim_id = ${claimId}
      returning s.digest_due_at
    `;
    if (recorded?.digest_due_at) result.dueAt.push({ workspaceId: workspace_id, at: recorded.digest_due_at });
    result.messages += 1;
    result.items += pending.length;
    result.bytes.push(Buffer.byteLength(message.subject) + Buffer.byteLength(message.text));
  }
  return result;
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

/**
 * One workspace's disconnections and removals: at most MAX_LISTED named, the rest counted,
 * fitted into one SNS message (digests/message.ts). Never a key.
 */
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
  const oldest = pending.reduce<Date | undefined>(
    (at, change) => (change.observedAt && (!at || change.observedAt < at) ? change.observedAt : at),
    undefined,
  );
  const { subject, message } = fitDigest({
    subject: `sender-sync: ${what} in ${workspace}`,
    intro: [],
    sections: [
      {
        heading: `Workspace "${workspace}": ${what} (reported by EmailBison webhooks)`,
        lines,
        accounts: pending.length,
        notListed: Math.max(0, pending.length - MAX_LISTED),
      },
    ],
    changesCommand: changesCommand(oldest && new Date(oldest.getTime() - 1)),
  });
  return { subject, text: message };
}

function publishable(sql: Sql) {
  return sql`((c.field = 'removed' and c.new_value = 'true') or (c.field = 'status' and lower(coalesce(c.new_value #>> '{}', '')) <> 'connected')
    or (c.field = 'warmup_enabled' and c.new_value = 'false' and c.reason like 'warmup_disabled_%'))`;
}
