import type { Config } from '../config/load-config';
import type { Sql } from '../db/client';
import type { EmailBisonClientOptions } from '../emailbison/client';
import type { JobRecord } from '../jobs/read-job';
import type { ChangeCounts } from '../jobs/run-changes';
import type { SecretResolver } from '../secrets/resolve';
import type { RunEvent } from './run-events';

/** What every task needs, built once per Lambda container (or once per local run) and passed down. */
export interface TaskDeps {
  sql: Sql;
  secrets: SecretResolver;
  config: Config;
  log: TaskLog;
  metrics: RunMetrics;
  now: () => number;
  /** Local runs and tests point the EmailBison client elsewhere or speed its waits up. */
  emailbison?: Partial<
    Pick<
      EmailBisonClientOptions,
      'dispatcher' | 'sleep' | 'baseBackoffMs' | 'headersTimeoutMs' | 'bodyTimeoutMs' | 'maxResponseBytes' | 'requestTimeoutMs'
    >
  >;
  /** What happens in the run, for a person watching a local run (run-events.ts); unset in the Lambdas. */
  onEvent?: (event: RunEvent) => void;
  /** Aborted when a local run is interrupted: a sync stops at its next page boundary, as at its deadline. */
  signal?: AbortSignal;
  /** Milliseconds the current invocation has left (Lambda's getRemainingTimeInMillis). */
  remainingTimeMs?: () => number;
  /**
   * Where Finalize job sends a run's digest of account changes: the ChangesTopic on AWS
   * (CHANGES_TOPIC_ARN); unset, the digest is only logged and emitted as a run event.
   */
  changes?: ChangesPublisher;
}

/** Sends one digest (an SNS message on AWS). */
export interface ChangesPublisher {
  publish(digest: { subject: string; message: string }): Promise<void>;
}

export interface TaskLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Fields put on every following line (job, workspace). */
  setContext(fields: { jobId?: string; workspaceId?: number; workspace?: string }): void;
}

/** EMF metrics; the finalizer's WorkspacesFailed (failed + skipped) is what pages someone on a partial run. */
export interface RunMetrics {
  workspaceSynced(fields: { accountsSynced: number; rateLimitWaitMs: number }): void;
  runFinished(summary: JobRecord): void;
  /** Accounts disconnected, reconnected, added and removed since the previous run, summed over the job's workspaces. */
  runChanges(counts: ChangeCounts): void;
  /**
   * Start job's plan: workspaces deferred to the next run, and the most minutes an instance
   * that deferred some needs at its cap (0 when none did): the WorkspacesDeferred alarm.
   */
  runPlanned(plan: { deferred: number; neededMinutes: number }): void;
  /** Start job reached the database: the deploy is configured (clears the NotConfigured alarm). */
  configured(): void;
  /** A digest of account changes was not published (SNS refused it): emitted at once, whatever happens to the invocation after. */
  digestNotPublished(): void;
  flush(): void;
}

export const silentLog: TaskLog = { info() {}, warn() {}, error() {}, setContext() {} };
export const noMetrics: RunMetrics = {
  workspaceSynced() {},
  runFinished() {},
  runChanges() {},
  runPlanned() {},
  configured() {},
  digestNotPublished() {},
  flush() {},
};
