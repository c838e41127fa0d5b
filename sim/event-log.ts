import { randomUUID } from 'node:crypto';
import type { RawSenderEmail, SimWorkspace } from './data';
import { cursorBody, decodeCursor } from './pagination';
import type { SimAccountEvent, SimDelivery } from './webhooks';
import { deliveredBody } from './webhooks';

/*
 * The instance's event log (../shared/DESIGN.md, "Corrections and additions"): every account
 * change the simulator makes through changeAccount, badDay and addAccountWithEvent (the
 * /_sim routes) is recorded, delivered or not, as EmailBison's log keeps what its webhooks
 * were meant to carry: `{id, uuid, payload: {event, data}, webhook_deliveries, created_at}`,
 * the payload being the delivery's body. A test's direct edits of the data (addAccounts,
 * patchAccount, updateAccounts, ...) are not recorded: they stand for changes EmailBison
 * never logged (counters moving, say). About the last 10 days are kept.
 *
 * Served at GET /api/events?pagination_type=cursor&start_date=YYYY-MM-DD&end_date=YYYY-MM-DD
 * [&type=…][&cursor=…], cursor mode only. Scoped to the key's workspace: the docs do not say
 * whether the log is the instance's or the workspace's; an api-user key reads its own
 * workspace everywhere else, so here too.
 */

/** One item as GET /api/events serves it. */
export type SimLogItem = Omit<StoredItem, 'workspace'>;

interface StoredItem {
  id: number;
  uuid: string;
  payload: ReturnType<typeof deliveredBody>;
  webhook_deliveries: {
    id: number;
    url: string;
    status: number;
    webhook_attempts: { id: number; status_code: number; created_at: string }[];
  }[];
  created_at: string;
  /** Not served: which workspace's log holds it. */
  workspace: string;
}

/** How long the log keeps an event (EmailBison: "about 10 days"). */
export const EVENT_LOG_DAYS = 10;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class SimEventLog {
  readonly #items: StoredItem[] = [];
  #nextId = 1;
  #nextAttemptId = 1;

  /** Records one change; `createdAtMs` is the change's time (its account's updated_at). */
  record(type: SimAccountEvent, workspace: SimWorkspace, account: RawSenderEmail, instanceUrl: string, createdAtMs: number): StoredItem {
    const item: StoredItem = {
      id: this.#nextId++,
      uuid: randomUUID(),
      payload: deliveredBody(type, workspace, account, instanceUrl),
      webhook_deliveries: [],
      created_at: new Date(createdAtMs).toISOString(),
      workspace: workspace.name,
    };
    this.#items.push(item);
    this.#prune(createdAtMs);
    return item;
  }

  /** Adds the deliveries made for an item (by account, in the order they were made). */
  delivered(item: StoredItem, deliveries: SimDelivery[], url: (target: SimDelivery['target']) => string): void {
    for (const delivery of deliveries) {
      const attemptId = this.#nextAttemptId++;
      item.webhook_deliveries.push({
        id: attemptId,
        url: url(delivery.target),
        status: delivery.status,
        webhook_attempts: [{ id: attemptId, status_code: delivery.status, created_at: item.created_at }],
      });
    }
  }

  items(workspace?: string): SimLogItem[] {
    return this.#items.filter((item) => workspace === undefined || item.workspace === workspace).map(served);
  }

  /** Sets an item's time (a test's event of days ago). */
  backdate(id: number, createdAt: string): void {
    const item = this.#items.find((candidate) => candidate.id === id);
    if (!item) throw new Error(`the event log has no item ${id}`);
    item.created_at = createdAt;
  }

  /**
   * One page of the workspace's log, or what is wrong with the query (422, as Laravel's
   * validation would: both dates or neither, cursor mode only).
   */
  page(workspace: string, query: URLSearchParams, path: string): { status: 200 | 422; body: unknown } {
    const start = query.get('start_date');
    const end = query.get('end_date');
    if ((start === null) !== (end === null)) {
      const field = start === null ? 'start_date' : 'end_date';
      return {
        status: 422,
        body: {
          message: `The ${field.replace('_', ' ')} field is required when ${field === 'start_date' ? 'end date' : 'start date'} is present.`,
          errors: { [field]: ['required'] },
        },
      };
    }
    if ((start !== null && !DAY.test(start)) || (end !== null && !DAY.test(end))) {
      return { status: 422, body: { message: 'The dates must be YYYY-MM-DD.', errors: {} } };
    }
    if (query.get('pagination_type') !== 'cursor') {
      return { status: 422, body: { message: 'This endpoint supports cursor pagination only.', errors: { pagination_type: ['cursor'] } } };
    }
    const type = query.get('type')?.toUpperCase();
    const from = start === null ? Number.NEGATIVE_INFINITY : Date.parse(`${start}T00:00:00Z`);
    const to = end === null ? Number.POSITIVE_INFINITY : Date.parse(`${end}T00:00:00Z`) + 86_400_000;
    const items = this.#items.filter((item) => {
      const at = Date.parse(item.created_at);
      return item.workspace === workspace && at >= from && at < to && (type === undefined || item.payload.event.type === type);
    });
    const raw = query.get('cursor');
    const body = cursorBody(items, raw ? decodeCursor(raw) : undefined, path);
    return { status: 200, body: { ...body, data: body.data.map(served) } };
  }

  #prune(nowMs: number): void {
    const keepFrom = nowMs - EVENT_LOG_DAYS * 86_400_000;
    while (this.#items.length > 0 && Date.parse(this.#items[0].created_at) < keepFrom) this.#items.shift();
  }
}

function served(item: StoredItem): SimLogItem {
  const { workspace: _workspace, ...rest } = item;
  return structuredClone(rest);
}
