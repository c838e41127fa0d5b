import { describe, expect, it } from 'vitest';
import { STATE } from '../../../state-machine/definition';
import type { TaskHandlers } from '../../../lambdas/tasks';
import { runStateMachineLocally, type LocalRunEvent } from '../../../state-machine/local-runner';

/*
 * The real (synthesized) definition, run with small in-process fakes for the four tasks.
 */

interface Workspace {
  id: number;
  name: string;
}

const named = (id: number): Workspace => ({ id, name: `Workspace ${id}` });
const workspaces = (count: number): Workspace[] => Array.from({ length: count }, (_, i) => ({ id: i + 1, name: `Workspace ${i + 1}` }));

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function fakeTasks(
  options: {
    workspaces?: Workspace[];
    sync?: (event: any, call: number) => Promise<unknown>;
    status?: string;
    finalized?: Record<string, unknown>;
  } = {},
) {
  const calls = { startJob: [] as any[], syncWorkspace: [] as any[], finalizeJob: [] as any[], markFailed: [] as any[] };
  const handlers: TaskHandlers = {
    async startJob(event) {
      calls.startJob.push(event);
      const ids = (options.workspaces ?? workspaces(2)).map((w) => w.id);
      return { status: 'started', jobId: 'job-1', workspaceCount: ids.length, workspaceIds: ids, mode: 'sync', day: null };
    },
    async syncWorkspace(event: any) {
      calls.syncWorkspace.push(event);
      if (options.sync) return options.sync(event, calls.syncWorkspace.length);
      return { jobId: event.jobId, workspace: named(event.workspace.id), done: true, cursor: null, accountsSynced: 10 };
    },
    async finalizeJob(event) {
      calls.finalizeJob.push(event);
      return {
        jobId: 'job-1',
        status: options.status ?? 'completed',
        totalWorkspaces: 2,
        workspacesFailed: 0,
        totalAccountsSynced: 20,
        durationMs: 5,
        ...options.finalized,
      };
    },
    async markFailed(event) {
      calls.markFailed.push(event);
      return { recorded: true };
    },
  };
  return { handlers, calls };
}

const entered = (events: LocalRunEvent[]) =>
  events.filter((event) => event.type === 'StateEntered').map((event) => (event.state as { name: string }).name);

describe('runStateMachineLocally', () => {
  it('syncs every workspace and succeeds in Done with the job summary', async () => {
    const { handlers, calls } = fakeTasks();
    const result = await runStateMachineLocally({ input: {}, handlers, executionName: 'happy' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ jobId: 'job-1', status: 'completed' });
    expect(result.executionArn).toBe('arn:aws:states:local:000000000000:execution:sender-sync:happy');
    expect(calls.startJob).toEqual([{ input: {}, executionArn: result.executionArn, executionStartTime: expect.any(String) }]);
    expect(calls.syncWorkspace.map((event) => event.workspace.id).sort()).toEqual([1, 2]);
    expect(calls.syncWorkspace[0]).toEqual({
      jobId: 'job-1',
      workspace: { id: expect.any(Number) },
      cursor: null,
      mode: 'sync',
      day: null,
    });
    expect(calls.finalizeJob).toEqual([{ jobId: 'job-1', executionArn: result.executionArn }]);
    expect(calls.markFailed).toEqual([]);
    expect(entered(result.events).at(-1)).toBe(STATE.done);
    const mapExit = result.events.find((event) => event.type === 'StateExited' && (event.state as any).name === STATE.syncEachWorkspace);
    expect((mapExit?.state as any)?.output).not.toHaveProperty('0');
  });

  it('ends in "Not configured", succeeded, after one Start job attempt when the database secret holds the placeholder', async () => {
    const { handlers, calls } = fakeTasks();
    let attempts = 0;
    handlers.startJob = async () => {
      attempts += 1;
      throw namedError('NotConfiguredError', 'The database secret still holds the placeholder the stack created (REPLACE_ME)');
    };
    const result = await runStateMachineLocally({ input: {}, handlers });

    expect(result.status).toBe('SUCCEEDED');
    expect(attempts).toBe(1);
    expect(entered(result.events).at(-1)).toBe(STATE.notConfigured);
    expect(result.output).toMatchObject({ error: { Error: 'NotConfiguredError', Cause: expect.stringContaining('REPLACE_ME') } });
    expect(calls.markFailed).toEqual([]);
    expect(calls.syncWorkspace).toEqual([]);
  });

  it('ends in "Already running" when another run holds the lock', async () => {
    const { handlers, calls } = fakeTasks();
    handlers.startJob = async () => ({ status: 'already_running', runningJobId: 'job-0', runningForSeconds: 120 });
    const result = await runStateMachineLocally({ input: {}, handlers });

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result.events).at(-1)).toBe(STATE.alreadyRunning);
    expect(result.output).toEqual({ status: 'already_running', runningJobId: 'job-0', runningForSeconds: 120 });
    expect(calls.syncWorkspace).toEqual([]);
    expect(calls.finalizeJob).toEqual([]);
  });

  it('loops Sync workspace from its cursor while it returns done: false', async () => {
    const { handlers, calls } = fakeTasks({
      workspaces: workspaces(1),
      sync: async (event) => {
        const cursor = event.cursor ?? 0;
        return {
          jobId: event.jobId,
          workspace: named(event.workspace.id),
          done: cursor === 2,
          cursor: cursor === 2 ? null : cursor + 1,
          accountsSynced: 15,
        };
      },
    });
    const result = await runStateMachineLocally({ input: {}, handlers });

    expect(result.status).toBe('SUCCEEDED');
    expect(calls.syncWorkspace.map((event) => event.cursor)).toEqual([null, 1, 2]);
    // The first call knows the id only; later calls carry the name the previous call read.
    expect(calls.syncWorkspace.map((event) => event.workspace)).toEqual([{ id: 1 }, named(1), named(1)]);
    expect(entered(result.events).filter((name) => name === STATE.morePages)).toHaveLength(3);
  });

  it('retries a workspace whose Lambda crashed once, from the input it was given', async () => {
    const { handlers, calls } = fakeTasks({
      workspaces: workspaces(1),
      sync: async (event, call) => {
        if (call === 1) throw new Error('socket hang up');
        return { jobId: event.jobId, workspace: event.workspace, done: true, cursor: null, accountsSynced: 10 };
      },
    });
    const result = await runStateMachineLocally({ input: {}, handlers, instantRetries: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(calls.syncWorkspace).toHaveLength(2);
    expect(calls.syncWorkspace[1]).toEqual(calls.syncWorkspace[0]);
    expect(calls.markFailed).toEqual([]);
    const retried = result.events.filter((event) => event.type === 'StateRetried');
    expect(retried).toHaveLength(1);
    expect((retried[0].retry as any).retrier.ErrorEquals).toEqual(['States.ALL']);
  });

  it('does not retry a rejected API key: the workspace is recorded as failed and the others go on', async () => {
    const { handlers, calls } = fakeTasks({
      workspaces: workspaces(3),
      sync: async (event) => {
        if (event.workspace.id === 2)
          throw namedError('RejectedApiKeyError', 'EmailBison rejected the API key of workspace "Workspace 2" (HTTP 401)');
        return { jobId: event.jobId, workspace: event.workspace, done: true, cursor: null, accountsSynced: 10 };
      },
      status: 'partial',
    });
    const result = await runStateMachineLocally({ input: {}, handlers, instantRetries: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'partial' });
    expect(calls.syncWorkspace.filter((event) => event.workspace.id === 2)).toHaveLength(1);
    expect(calls.syncWorkspace.map((event) => event.workspace.id).sort()).toEqual([1, 2, 3]);
    expect(calls.markFailed).toEqual([
      {
        scope: 'workspace',
        jobId: 'job-1',
        workspace: { id: 2 },
        error: {
          Error: 'RejectedApiKeyError',
          Cause: JSON.stringify({
            errorType: 'RejectedApiKeyError',
            errorMessage: 'EmailBison rejected the API key of workspace "Workspace 2" (HTTP 401)',
          }),
        },
      },
    ]);
    expect(result.events.filter((event) => event.type === 'StateRetried')).toEqual([]);
    expect(calls.finalizeJob).toHaveLength(1);
  });

  it('syncs at most 3 workspaces at once out of 10', async () => {
    let running = 0;
    let peak = 0;
    const { handlers, calls } = fakeTasks({
      workspaces: workspaces(10),
      sync: async (event) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 15));
        running -= 1;
        return { jobId: event.jobId, workspace: event.workspace, done: true, cursor: null, accountsSynced: 1 };
      },
    });
    const result = await runStateMachineLocally({ input: {}, handlers });

    expect(result.status).toBe('SUCCEEDED');
    expect(calls.syncWorkspace).toHaveLength(10);
    expect(peak).toBe(3);
    expect(result.durationMs).toBeGreaterThanOrEqual(4 * 15);
  });

  it('honours a different map concurrency', async () => {
    let running = 0;
    let peak = 0;
    const { handlers } = fakeTasks({
      workspaces: workspaces(6),
      sync: async (event) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 15));
        running -= 1;
        return { jobId: event.jobId, workspace: event.workspace, done: true, cursor: null, accountsSynced: 1 };
      },
    });
    await runStateMachineLocally({ input: {}, handlers, mapConcurrency: 1 });
    expect(peak).toBe(1);
  });

  it('fails the execution in "Run failed" when the job failed', async () => {
    const { handlers } = fakeTasks({ status: 'failed' });
    const result = await runStateMachineLocally({ input: {}, handlers });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RunFailed');
    expect(result.cause).toMatch(/No workspace synced/);
    expect(entered(result.events).at(-1)).toBe(STATE.runFailed);
  });

  it('ends in "Job already ended" with Finalize job\'s note when the job had ended before (a redriven execution)', async () => {
    const note =
      'job job-1 had already ended (failed) when Finalize job ran: nothing was written. Redrive is not supported: start a new execution.';
    const { handlers } = fakeTasks({ status: 'failed', finalized: { alreadyEnded: true, note } });
    const result = await runStateMachineLocally({ input: {}, handlers });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('JobAlreadyEnded');
    expect(result.cause).toBe(note);
    expect(entered(result.events).at(-1)).toBe(STATE.jobAlreadyEnded);
  });

  it('fails at once on a bad input with InvalidInputError readable as the error and cause, after recording the run failure', async () => {
    const { handlers, calls } = fakeTasks();
    const message =
      'Execution input must be {} (every active workspace) or {"workspaces": ["Workspace name", ...]}; unknown field "workspace".';
    handlers.startJob = async (event) => {
      calls.startJob.push(event);
      throw namedError('InvalidInputError', message);
    };
    const result = await runStateMachineLocally({ input: { workspace: 'Acme' }, handlers, executionName: 'bad-input' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    expect(JSON.parse(result.cause!)).toEqual({ errorType: 'InvalidInputError', errorMessage: message });
    expect(calls.startJob).toHaveLength(1);
    expect(calls.markFailed).toEqual([
      {
        scope: 'run',
        executionArn: 'arn:aws:states:local:000000000000:execution:sender-sync:bad-input',
        jobId: null,
        error: { Error: 'InvalidInputError', Cause: result.cause },
      },
    ]);
    expect(entered(result.events).at(-1)).toBe(STATE.runBroke);
    const failed = result.events.find((event) => event.type === 'ExecutionFailed');
    expect(failed).toMatchObject({ Error: 'InvalidInputError', Cause: result.cause });
  });

  it('records the run failure with its job id when the Map breaks, and fails with the original error', async () => {
    const { handlers, calls } = fakeTasks({
      workspaces: workspaces(1),
      sync: async () => {
        throw namedError('RejectedApiKeyError', 'rejected');
      },
    });
    handlers.markFailed = async (event: any) => {
      calls.markFailed.push(event);
      if (event.scope === 'workspace') throw namedError('ConfigError', 'no database configured');
      return { recorded: true };
    };
    const result = await runStateMachineLocally({ input: {}, handlers, instantRetries: true });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ConfigError');
    expect(calls.markFailed.at(-1)).toMatchObject({ scope: 'run', jobId: 'job-1', error: { Error: 'ConfigError' } });
    expect(calls.finalizeJob).toEqual([]);
  });

  it('ends ABORTED when its signal aborts', async () => {
    const controller = new AbortController();
    const { handlers } = fakeTasks({
      sync: async (event) => {
        controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { jobId: event.jobId, workspace: event.workspace, done: true, cursor: null, accountsSynced: 1 };
      },
    });
    const result = await runStateMachineLocally({ input: {}, handlers, signal: controller.signal });
    expect(result.status).toBe('ABORTED');
    expect(result.events.at(-1)?.type).toBe('ExecutionAborted');
  });

  it('reports every event to onEvent, with state inputs and outputs', async () => {
    const seen: LocalRunEvent[] = [];
    const { handlers } = fakeTasks();
    const result = await runStateMachineLocally({ input: {}, handlers, onEvent: (event) => seen.push(event) });
    expect(seen).toEqual(result.events);
    const startExit = seen.find((event) => event.type === 'StateExited' && (event.state as any).name === STATE.startJob);
    expect((startExit?.state as any)?.output).toMatchObject({ status: 'started', jobId: 'job-1' });
  });
});
