import { DeadlineReachedError } from '../errors';

/**
 * A signal that aborts in `inMs` or when `outer` aborts, whichever
 * comes first: everything a sync invocation waits on (requests in flight, Retry-After and
 * budget waits, a lease held by another invocation) takes it, so nothing runs past the
 * deadline. At the deadline the reason is a DeadlineReachedError.
 */
export function deadlineSignal(options: { inMs: number; workspace: string; outer?: AbortSignal }): {
  signal: AbortSignal;
  /** Whether the deadline (not the outer signal) aborted it. */
  readonly deadlineReached: boolean;
  dispose(): void;
} {
  const controller = new AbortController();
  let deadlineReached = false;
  const timer = setTimeout(
    () => {
      deadlineReached = true;
      controller.abort(new DeadlineReachedError({ workspace: options.workspace }));
    },
    Math.max(0, options.inMs),
  );
  const fromOuter = () => controller.abort(options.outer?.reason);
  if (options.outer?.aborted) fromOuter();
  else options.outer?.addEventListener('abort', fromOuter, { once: true });
  return {
    signal: controller.signal,
    get deadlineReached() {
      return deadlineReached;
    },
    /** Ends whatever still waits on the signal: nothing outlives the invocation. */
    dispose() {
      clearTimeout(timer);
      options.outer?.removeEventListener('abort', fromOuter);
      controller.abort();
    },
  };
}
