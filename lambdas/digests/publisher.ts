import type { RunMetrics } from '../runtime/deps';

/** Anything that publishes one message: the run digest's publisher, the webhook digest's. */
export interface Publisher<M> {
  publish(message: M): Promise<void>;
}

/**
 * The publisher, counting each publish that fails (DigestsNotPublished, which pages
 * someone through its alarm) the moment it fails, then rethrowing: the caller decides what
 * stays pending. A digest SNS refused was only logged before, and nobody read the log.
 */
export function countPublishFailures<M>(publisher: Publisher<M>, metrics: Pick<RunMetrics, 'digestNotPublished'>): Publisher<M> {
  return {
    async publish(message) {
      try {
        await publisher.publish(message);
      } catch (error) {
        metrics.digestNotPublished();
        throw error;
      }
    },
  };
}
