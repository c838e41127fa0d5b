import type { DeliveryTarget } from './token';

/*
 * What the receiver hands the applier through the intake queue (SQS on AWS, an in-process
 * bounded queue in `webhooks serve`): the delivery's body as received, the workspace and
 * EmailBison workspace its path names (the target its token opened), and when it arrived
 * (the time of an event without updated_at). The token is not in it: the receiver checked
 * it, and nothing downstream may hold it. A tick carries no delivery: it wakes the applier
 * when a workspace's digest falls due (lambdas/webhooks/publish.ts).
 */

export interface QueuedDelivery {
  kind: 'delivery';
  /** The workspace and EmailBison workspace of the path (/emailbison/<id>/<EmailBison id>/<token>). */
  target: DeliveryTarget;
  /** The body as received (UTF-8), validated by the receiver. */
  body: string;
  /** ISO-8601: when the receiver accepted it. */
  receivedAt: string;
}

export interface DigestTick {
  kind: 'tick';
  /** The workspace whose digest falls due. */
  workspaceId: number;
}

export type IntakeMessage = QueuedDelivery | DigestTick;

/** Where the receiver puts an accepted delivery; resolves once it is stored (SQS) or held (local queue). */
export interface IntakeQueue {
  send(message: IntakeMessage, options?: { delaySeconds?: number }): Promise<void>;
}

/**
 * The body travels base64: its size is then 4/3 of the body's whatever it holds (JSON escaping
 * could make a 256 KiB body of control characters six times larger), well inside SQS's 1 MiB.
 */
export function encodeIntakeMessage(message: IntakeMessage): string {
  if (message.kind === 'tick') return JSON.stringify(message);
  return JSON.stringify({ ...message, body: Buffer.from(message.body, 'utf8').toString('base64') });
}

/** A message body from the queue; undefined when it is none of ours (logged and dropped by the applier). */
export function decodeIntakeMessage(text: string): IntakeMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const message = parsed as Record<string, unknown>;
  if (message.kind === 'tick') return isId(message.workspaceId) ? { kind: 'tick', workspaceId: message.workspaceId } : undefined;
  if (message.kind !== 'delivery' || typeof message.body !== 'string' || typeof message.receivedAt !== 'string') return undefined;
  const target = message.target as Record<string, unknown> | null | undefined;
  if (typeof target !== 'object' || target === null || !isId(target.workspaceId) || !isId(target.emailbisonWorkspaceId)) return undefined;
  if (Number.isNaN(Date.parse(message.receivedAt))) return undefined;
  return {
    kind: 'delivery',
    target: { workspaceId: target.workspaceId, emailbisonWorkspaceId: target.emailbisonWorkspaceId },
    body: Buffer.from(message.body, 'base64').toString('utf8'),
    receivedAt: message.receivedAt,
  };
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
