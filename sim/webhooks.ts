import { Agent, request } from 'undici';
import type { RawSenderEmail, SimWorkspace } from './data';

/*
 * The simulator's webhooks: each workspace's subscriptions (/api/webhook-url CRUD) and the
 * deliveries made when an account changes, in the shape EmailBison delivers
 * (../shared/DESIGN.md, "Webhook deliveries"): UPPERCASE type, the webhook's counter names.
 * A delivery goes to every subscription of the account's workspace that lists the event,
 * and to the instance-wide `webhookUrl` (SimOptions) for every event. Deliveries are made
 * before the change's control request is answered, so a test holding that answer knows
 * the receiver answered too.
 */

export type SimAccountEvent =
  | 'email_account_added'
  | 'email_account_removed'
  | 'email_account_disconnected'
  | 'email_account_reconnected'
  | 'warmup_disabled_causing_bounces'
  | 'warmup_disabled_receiving_bounces';

/** What changeAccount does to an account: each delivers its event. */
export type SimAccountChange =
  | 'disconnect'
  | 'reconnect'
  | 'remove'
  | 'warmup-disabled-causing-bounces'
  | 'warmup-disabled-receiving-bounces';

export interface SimSubscription {
  id: number;
  name: string;
  url: string;
  events: string[];
}

export interface SimDelivery {
  type: SimAccountEvent;
  accountId: number;
  workspace: string;
  /** `global` (SimOptions.webhookUrl) or the subscription's id. */
  target: 'global' | number;
  /** The receiver's HTTP status, or 0 when it could not be reached. */
  status: number;
  /** The exact body posted (no secret in it): tests replay it. */
  body: string;
  /** From the request's start to the end of the receiver's answer. */
  latencyMs?: number;
}

const EVENT_NAMES: Record<SimAccountEvent, string> = {
  email_account_added: 'Email Account Added',
  email_account_removed: 'Email Account Removed',
  email_account_disconnected: 'Email Account Disconnected',
  email_account_reconnected: 'Email Account Reconnected',
  warmup_disabled_causing_bounces: 'Warmup Disabled (Causing Bounces)',
  warmup_disabled_receiving_bounces: 'Warmup Disabled (Receiving Bounces)',
};

export class SimWebhooks {
  readonly #subscriptions = new Map<string, SimSubscription[]>();
  readonly #deliveries: SimDelivery[] = [];
  #agent: Agent | undefined;
  #nextId = 1;

  constructor(
    private readonly instanceUrl: () => string,
    private readonly globalUrl: string | undefined,
  ) {}

  list(workspace: string): SimSubscription[] {
    return structuredClone(this.#subscriptions.get(workspace) ?? []);
  }

  create(workspace: string, fields: Omit<SimSubscription, 'id'>): SimSubscription {
    const subscription = { id: this.#nextId++, ...fields };
    this.#subscriptions.set(workspace, [...(this.#subscriptions.get(workspace) ?? []), subscription]);
    return structuredClone(subscription);
  }

  update(workspace: string, id: number, fields: Partial<Omit<SimSubscription, 'id'>>): SimSubscription | undefined {
    const found = this.#subscriptions.get(workspace)?.find((s) => s.id === id);
    if (!found) return undefined;
    Object.assign(found, fields);
    return structuredClone(found);
  }

  delete(workspace: string, id: number): boolean {
    const list = this.#subscriptions.get(workspace) ?? [];
    this.#subscriptions.set(
      workspace,
      list.filter((s) => s.id !== id),
    );
    return list.some((s) => s.id === id);
  }

  /** Which workspace holds a subscription id (ids are instance-wide). */
  owner(id: number): string | undefined {
    for (const [workspace, list] of this.#subscriptions) if (list.some((s) => s.id === id)) return workspace;
    return undefined;
  }

  deliveries(): SimDelivery[] {
    return structuredClone(this.#deliveries);
  }

  /** Posts the event to every target that wants it; resolves when each has answered. */
  async deliver(type: SimAccountEvent, workspace: SimWorkspace, account: RawSenderEmail): Promise<SimDelivery[]> {
    return this.deliverAll([{ type, workspace, account }]);
  }

  /**
   * Every event to every target that wants it, each `copies` times (a sender that timed out
   * and retried), sent by `concurrency` senders at once, as EmailBison's delivery workers
   * do (an instance's bad day: nobody waits for earlier answers). A delivery's latency runs
   * from its request being sent to the end of the answer. Resolves when every one has answered.
   */
  async deliverAll(
    events: { type: SimAccountEvent; workspace: SimWorkspace; account: RawSenderEmail }[],
    copies = 1,
    concurrency = Number.POSITIVE_INFINITY,
  ): Promise<SimDelivery[]> {
    const posts = events.flatMap(({ type, workspace, account }) => {
      const body = JSON.stringify(deliveredBody(type, workspace, account, this.instanceUrl()));
      const targets: { target: 'global' | number; url: string }[] = [
        ...(this.globalUrl ? [{ target: 'global' as const, url: this.globalUrl }] : []),
        ...(this.#subscriptions.get(workspace.name) ?? [])
          .filter((s) => s.events.includes(type))
          .map((s) => ({ target: s.id, url: s.url })),
      ];
      return targets.flatMap((target) => Array.from({ length: copies }, () => ({ ...target, type, account, workspace, body })));
    });
    this.#agent ??= new Agent({ keepAliveTimeout: 10_000 });
    const agent = this.#agent;
    const made: SimDelivery[] = new Array(posts.length);
    let next = 0;
    const sender = async () => {
      while (next < posts.length) {
        const index = next++;
        const { target, url, type, account, workspace, body } = posts[index];
        const started = performance.now();
        const status = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'EmailBison-Webhook (simulated)' },
          body,
          dispatcher: agent,
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        }).then(
          async (response) => {
            await response.body.dump();
            return response.statusCode;
          },
          () => 0,
        );
        made[index] = {
          type,
          accountId: account.id,
          workspace: workspace.name,
          target,
          status,
          body,
          latencyMs: performance.now() - started,
        };
      }
    };
    await Promise.all(Array.from({ length: Math.min(posts.length, concurrency) }, sender));
    this.#deliveries.push(...made);
    return structuredClone(made);
  }

  async close(): Promise<void> {
    await this.#agent?.close();
    this.#agent = undefined;
  }
}

/** What POST /_sim/bad-day answers: how the receiver took the burst. */
export interface BadDaySummary {
  workspaces: string[];
  /** Deliveries in flight at once (EmailBison's senders). */
  concurrency: number;
  accounts: number;
  deliveries: number;
  /** HTTP status (0: unreachable) -> deliveries. */
  statuses: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  durationMs: number;
}

export function summarizeBadDay(
  workspaces: string[],
  concurrency: number,
  accounts: number,
  made: SimDelivery[],
  durationMs: number,
): BadDaySummary {
  const statuses: Record<string, number> = {};
  for (const delivery of made) statuses[delivery.status] = (statuses[delivery.status] ?? 0) + 1;
  const sorted = made.map((delivery) => delivery.latencyMs ?? 0).sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    workspaces,
    concurrency,
    accounts,
    deliveries: made.length,
    statuses,
    latencyMs: { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) },
    durationMs: Math.round(durationMs),
  };
}

export function deliveredBody(type: SimAccountEvent, workspace: SimWorkspace, account: RawSenderEmail, instanceUrl: string) {
  return {
    event: {
      type: type.toUpperCase(),
      name: EVENT_NAMES[type],
      instance_url: instanceUrl,
      workspace_id: workspace.id,
      workspace_name: workspace.name,
    },
    data: {
      sender_email: {
        id: account.id,
        name: account.name,
        email: account.email,
        status: account.status,
        account_type: account.type,
        daily_limit: account.daily_limit,
        emails_sent: account.emails_sent_count,
        replied: account.total_replied_count,
        opened: account.total_opened_count,
        unsubscribed: account.unsubscribed_count,
        bounced: account.bounced_count,
        unique_replies: account.unique_replied_count,
        unique_opens: account.unique_opened_count,
        total_leads_contacted: account.total_leads_contacted_count,
        interested: account.interested_leads_count,
        created_at: account.created_at,
        updated_at: account.updated_at,
      },
    },
  };
}

/** Laravel's timestamp with microseconds (ms precision here), so two changes within a second are ordered. */
export function changeTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}
