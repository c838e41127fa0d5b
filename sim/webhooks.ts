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
    const body = JSON.stringify(deliveredBody(type, workspace, account, this.instanceUrl()));
    const targets: { target: 'global' | number; url: string }[] = [
      ...(this.globalUrl ? [{ target: 'global' as const, url: this.globalUrl }] : []),
      ...(this.#subscriptions.get(workspace.name) ?? []).filter((s) => s.events.includes(type)).map((s) => ({ target: s.id, url: s.url })),
    ];
    const made = await Promise.all(
      targets.map(async ({ target, url }) => {
        const status = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'EmailBison-Webhook (simulated)' },
          body,
          signal: AbortSignal.timeout(10_000),
        }).then(
          async (response) => {
            await response.arrayBuffer();
            return response.status;
          },
          () => 0,
        );
        return { type, accountId: account.id, workspace: workspace.name, target, status, body };
      }),
    );
    this.#deliveries.push(...made);
    return structuredClone(made);
  }
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
