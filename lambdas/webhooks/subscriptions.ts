import { describeNetworkError } from '../emailbison/network-error';
import { WebhookSubscriptionError } from '../errors';
import { ACCOUNT_EVENT_TYPES } from './event';
import { maskWebhookUrl } from './token';

/*
 * A workspace's webhook subscriptions at EmailBison: GET/POST /api/webhook-url,
 * PUT /api/webhook-url/{id}, with {name, url, events: [...]} (../shared/DESIGN.md). One
 * subscription per workspace, named SUBSCRIPTION_NAME, to the eight account events.
 * Messages name the workspace and the HTTP status, never the key or the token.
 */

export const SUBSCRIPTION_NAME = 'sender-sync';
export const SUBSCRIBED_EVENTS: readonly string[] = ACCOUNT_EVENT_TYPES;

export interface Subscription {
  id: number;
  name: string;
  url: string;
  events: string[];
}

export interface SubscriptionTarget {
  workspace: string;
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export type EnsureOutcome = { outcome: 'created' | 'updated' | 'unchanged'; subscription: Subscription };

export async function listSubscriptions(target: SubscriptionTarget): Promise<Subscription[]> {
  const answer = await request(target, 'GET', '/api/webhook-url');
  const data = (answer as { data?: unknown })?.data;
  if (!Array.isArray(data))
    throw new WebhookSubscriptionError(`EmailBison's list of webhooks for workspace "${target.workspace}" has no data array.`);
  return data.flatMap((item) => {
    const subscription = asSubscription(item);
    return subscription ? [subscription] : [];
  });
}

/** Creates the workspace's subscription, or brings the one it has to `url` and the eight events. */
export async function ensureSubscription(target: SubscriptionTarget, url: string): Promise<EnsureOutcome> {
  const existing = (await listSubscriptions(target)).find(
    (s) => s.url === url || s.name === SUBSCRIPTION_NAME || maskWebhookUrl(s.url) === maskWebhookUrl(url),
  );
  const wanted = { name: SUBSCRIPTION_NAME, url, events: [...SUBSCRIBED_EVENTS] };
  if (existing && existing.url === url && existing.name === SUBSCRIPTION_NAME && sameEvents(existing.events, wanted.events)) {
    return { outcome: 'unchanged', subscription: existing };
  }
  const answer = existing
    ? await request(target, 'PUT', `/api/webhook-url/${existing.id}`, wanted)
    : await request(target, 'POST', '/api/webhook-url', wanted);
  const saved = asSubscription((answer as { data?: unknown })?.data) ?? { id: existing?.id ?? 0, ...wanted };
  return { outcome: existing ? 'updated' : 'created', subscription: saved };
}

async function request(target: SubscriptionTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = `${target.baseUrl.replace(/\/+$/, '')}${path}`;
  let response: Response;
  try {
    response = await (target.fetch ?? fetch)(url, {
      method,
      headers: {
        authorization: `Bearer ${target.apiKey}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(target.timeoutMs ?? 15_000),
    });
  } catch (error) {
    throw new WebhookSubscriptionError(
      `EmailBison at ${new URL(url).host} did not answer ${method} ${path} for workspace "${target.workspace}": ${describeNetworkError(error, { timeoutMs: target.timeoutMs ?? 15_000 })}.`,
      { workspace: target.workspace, cause: error },
    );
  }
  const text = await readCapped(response, MAX_ANSWER_BYTES, () => `${method} ${path} for workspace "${target.workspace}"`);
  if (response.status === 401) {
    throw new WebhookSubscriptionError(
      `EmailBison rejected the API key of workspace "${target.workspace}" (HTTP 401) on ${method} ${path}.`,
      {
        workspace: target.workspace,
      },
    );
  }
  if (!response.ok) {
    throw new WebhookSubscriptionError(
      `EmailBison answered HTTP ${response.status} to ${method} ${path} for workspace "${target.workspace}".`,
      {
        workspace: target.workspace,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new WebhookSubscriptionError(`EmailBison's answer to ${method} ${path} for workspace "${target.workspace}" is not JSON.`, {
      workspace: target.workspace,
    });
  }
}

function asSubscription(item: unknown): Subscription | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const record = item as Record<string, unknown>;
  const id = Number(record.id);
  if (!Number.isSafeInteger(id) || typeof record.url !== 'string') return undefined;
  const events = Array.isArray(record.events) ? record.events.map(eventName).filter((e): e is string => e !== undefined) : [];
  return { id, name: typeof record.name === 'string' ? record.name : '', url: record.url, events };
}

/** Events come back as ids or as objects, depending on the instance. */
function eventName(value: unknown): string | undefined {
  if (typeof value === 'string') return value.toLowerCase();
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const name = record.event ?? record.name ?? record.type ?? record.id;
    return typeof name === 'string' ? name.toLowerCase() : undefined;
  }
  return undefined;
}

function sameEvents(a: string[], b: string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((event) => left.has(event));
}

/** A subscriptions answer is a short list: far past this, it is not one (and is not read on). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The answer's body, read at most `maxBytes` far: `response.text()` would buffer an answer
 * that never ends (issue 22). The request's AbortSignal bounds the time; this bounds the bytes.
 */
async function readCapped(response: Response, maxBytes: number, what: () => string): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) {
      await response.body.cancel().catch(() => {});
      throw new WebhookSubscriptionError(`EmailBison's answer to ${what()} went past ${maxBytes} bytes: not read on.`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
