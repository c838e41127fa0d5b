import { errorCode, ERROR_CATALOGUE } from '../errors';
import { parseAccountEvent, type AccountEvent } from './event';
import type { DeliveryTarget } from './token';

/*
 * A delivery checked before it touches Postgres (or a queue): its shape and values
 * (event.ts, strict.ts: 400), and that the event is of the EmailBison workspace the URL
 * was made for (409). An event that does not say which workspace it is of is refused too:
 * leaving workspace_id out must not skip the check. Answers never quote the body.
 */

export type Validated = { ok: true; event: AccountEvent } | { ok: false; status: 400 | 409; reason: string };

export function validateDelivery(body: string | Buffer, target: DeliveryTarget, options: { receivedAt?: Date } = {}): Validated {
  let event: AccountEvent;
  try {
    event = parseAccountEvent(typeof body === 'string' ? body : body.toString('utf8'), options);
  } catch (error) {
    if (errorCode(error) !== ERROR_CATALOGUE.MalformedWebhookError.code) throw error;
    return { ok: false, status: 400, reason: (error as Error).message };
  }
  if (event.emailbisonWorkspaceId === null) {
    return { ok: false, status: 409, reason: "The event has no event.workspace_id; this URL takes only its own workspace's events." };
  }
  if (event.emailbisonWorkspaceId !== target.emailbisonWorkspaceId) {
    return {
      ok: false,
      status: 409,
      reason: `The event is of EmailBison workspace ${event.emailbisonWorkspaceId}; this URL is workspace ${target.workspaceId}'s (EmailBison workspace ${target.emailbisonWorkspaceId}).`,
    };
  }
  return { ok: true, event };
}
