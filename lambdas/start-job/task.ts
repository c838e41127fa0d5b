import { parseExecutionInput, type RunMode } from '../jobs/execution-input';
import { scheduleIntervalSeconds } from '../jobs/plan-run';
import { startJob } from '../jobs/start-job';
import type { TaskDeps } from '../runtime/deps';
import { utcDay } from '../warmup/day';

export interface StartJobEvent {
  input?: unknown;
  executionArn?: string;
  executionStartTime?: string;
}

/**
 * What the state machine carries: workspace ids only. Names would make the Map's input
 * grow by ~35 bytes a workspace (37 KB at 1,000); ids keep it under 8 KB, and Sync
 * workspace reads the name (and key reference) from the registry itself.
 */
export type StartJobOutput =
  | {
      status: 'started';
      jobId: string;
      workspaceCount: number;
      workspaceIds: number[];
      /** Carried into each Map item: the Sync workspace Lambda reads accounts (`sync`) or warmup figures (`warmup`). */
      mode: RunMode;
      /** Warmup mode: the UTC day read; null for the account sync. */
      day: string | null;
    }
  | { status: 'already_running'; runningJobId: string; runningForSeconds: number };

export function createStartJobTask(deps: TaskDeps) {
  return async (event: StartJobEvent): Promise<StartJobOutput> => {
    deps.metrics.configured();
    const input = parseExecutionInput(event?.input);
    const mode = input.mode ?? 'sync';
    // The day the run starts (UTC) unless the input names one: a pass that crosses midnight keeps its day.
    const startedAtMs = Date.parse(event?.executionStartTime ?? '');
    const day = mode === 'warmup' ? (input.day ?? utcDay(Number.isFinite(startedAtMs) ? startedAtMs : deps.now())) : null;
    const result = await startJob(deps.sql, {
      jobName: deps.config.jobName,
      mode,
      warmupDay: day ?? undefined,
      workspaceNames: input.workspaces,
      executionArn: event?.executionArn || undefined,
      triggerSource: input.triggerSource ?? (event?.executionArn ? 'step-functions' : 'manual'),
      runTimeoutMinutes: deps.config.runTimeoutMinutes,
      limits: {
        maxRps: deps.config.emailbisonMaxRps,
        // A run that outlasts the interval makes the next one find it running and skip.
        // (The warmup pass runs once a day: only the run timeout bounds it.)
        budgetSeconds: Math.min(
          mode === 'warmup' ? Infinity : (scheduleIntervalSeconds(deps.config.schedule) ?? Infinity),
          deps.config.runTimeoutMinutes * 60,
        ),
      },
    });
    if (result.status === 'already_running') {
      deps.onEvent?.({ type: 'already-running', runningJobId: result.runningJobId, runningForSeconds: result.runningForSeconds });
      deps.log.warn('another run holds the lock: not starting', {
        runningJobId: result.runningJobId,
        runningForSeconds: result.runningForSeconds,
      });
      return result;
    }
    deps.log.setContext({ jobId: result.jobId });
    const deferred = result.shortfalls.reduce((n, s) => n + s.deferred.length, 0);
    deps.log.info('job started', { mode, ...(day ? { day } : {}), workspaces: result.workspaces.length, deferred });
    for (const shortfall of result.shortfalls) {
      deps.log.warn(`deferred ${shortfall.deferred.length} workspaces to the next run: ${shortfall.reason}`, {
        host: shortfall.host,
        neededMinutes: shortfall.neededMinutes,
      });
    }
    deps.metrics.runPlanned({ deferred, neededMinutes: Math.max(0, ...result.shortfalls.map((s) => s.neededMinutes)) });
    deps.onEvent?.({ type: 'job-started', jobId: result.jobId, workspaces: result.workspaces });
    return {
      status: 'started',
      jobId: result.jobId,
      workspaceCount: result.workspaces.length,
      workspaceIds: result.workspaces.map((w) => w.id),
      mode,
      day,
    };
  };
}
