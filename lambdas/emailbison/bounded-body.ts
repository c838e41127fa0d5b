import type { Dispatcher } from 'undici';

/*
 * Every EmailBison answer is read through here, never with `body.text()` or `body.json()`:
 * an answer that never ends would otherwise be buffered whole (issue 22: 1.6 GB after 11 s,
 * then the kernel's OOM killer), and undici's body timeout fires only when data stops.
 * Two bounds, as undici's own `maxResponseSize` and `bodyTimeout` are, but both ours: bytes
 * (the read stops and the body is destroyed, which aborts the request and closes its
 * connection) and the request's whole time (`requestDeadline`).
 */

/** An error answer is read only this far: it can only add words to a message. */
export const MAX_ERROR_BODY_BYTES = 16 * 1024;

export interface BodyRead {
  text: string;
  bytes: number;
  /** The body went on past `maxBytes`: `text` holds at most its first MAX_ERROR_BODY_BYTES, the rest was never read. */
  overflowed: boolean;
}

/** Reads at most `maxBytes` of the body; `progress.bytes` follows the read, for a timeout's message. */
export async function readBody(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
  progress: { bytes: number } = { bytes: 0 },
): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (progress.bytes + buffer.length > maxBytes) {
      body.destroy();
      // What went past the cap is never a page: keep only enough of it to quote.
      const head = Buffer.concat([...chunks, buffer], Math.min(maxBytes, MAX_ERROR_BODY_BYTES));
      progress.bytes = maxBytes;
      return { text: head.toString('utf8'), bytes: maxBytes, overflowed: true };
    }
    chunks.push(buffer);
    progress.bytes += buffer.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), bytes: progress.bytes, overflowed: false };
}

export interface RequestDeadline {
  /** Aborts with the caller's signal, or when the deadline passes. */
  readonly signal: AbortSignal;
  /** Whether it was the deadline (not the caller) that aborted. */
  readonly expired: boolean;
  dispose(): void;
}

/**
 * A signal for one request that aborts when the caller's does or `timeoutMs` after now, so one
 * request's headers and body together never take longer. Linked by hand (see client.ts's
 * linkedAbort): AbortSignal.any leaves a listener on the caller's long-lived signal.
 */
export function requestDeadline(outer: AbortSignal, timeoutMs: number): RequestDeadline {
  const controller = new AbortController();
  let expired = false;
  const fromOuter = () => controller.abort(outer.reason);
  if (outer.aborted) fromOuter();
  else outer.addEventListener('abort', fromOuter, { once: true });
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`request deadline of ${timeoutMs} ms`));
  }, timeoutMs);
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    dispose() {
      clearTimeout(timer);
      outer.removeEventListener('abort', fromOuter);
    },
  };
}
