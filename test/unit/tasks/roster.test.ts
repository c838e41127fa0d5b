import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambdas/config/load-config';
import { noMetrics, silentLog, type TaskDeps } from '../../../lambdas/runtime/deps';
import { TASKS, TASK_NAMES, createTaskHandlers } from '../../../lambdas/tasks';

const LAMBDAS = path.resolve(import.meta.dirname, '../../../lambdas');

describe('the task roster', () => {
  it('names, for each task, a folder with its Lambda handler and its task code', () => {
    for (const name of TASK_NAMES) {
      expect(existsSync(path.join(LAMBDAS, TASKS[name].dir, 'handler.ts')), name).toBe(true);
      expect(existsSync(path.join(LAMBDAS, TASKS[name].dir, 'task.ts')), name).toBe(true);
    }
  });

  it('gives each task a distinct folder and construct id, and a Lambda timeout of at least a minute', () => {
    expect(new Set(TASK_NAMES.map((name) => TASKS[name].dir)).size).toBe(TASK_NAMES.length);
    expect(new Set(TASK_NAMES.map((name) => TASKS[name].constructId)).size).toBe(TASK_NAMES.length);
    for (const name of TASK_NAMES) expect(TASKS[name].timeoutSeconds, name).toBeGreaterThanOrEqual(60);
  });

  it('loads each task code lazily, and the handlers it builds check their events as the Lambdas do', async () => {
    const deps: TaskDeps = {
      sql: undefined as never,
      config: loadConfig({}),
      secrets: undefined as never,
      log: silentLog,
      metrics: noMetrics,
      now: Date.now,
    };
    const handlers = createTaskHandlers(deps);
    expect(Object.keys(handlers).sort()).toEqual([...TASK_NAMES].sort());
    await expect(handlers.syncWorkspace({})).rejects.toMatchObject({ name: 'InvalidInputError' });
    await expect(handlers.finalizeJob({})).rejects.toMatchObject({ name: 'InvalidInputError' });
    await expect(handlers.markFailed({})).rejects.toMatchObject({ name: 'InvalidInputError' });
    await expect(handlers.startJob({ input: 'not an object' })).rejects.toMatchObject({ name: 'InvalidInputError' });
  });
});
