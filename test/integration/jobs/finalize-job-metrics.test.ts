import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambdas/config/load-config';
import { createFinalizeJobTask } from '../../../lambdas/finalize-job/task';
import type { JobRecord } from '../../../lambdas/jobs/read-job';
import { startJob } from '../../../lambdas/jobs/start-job';
import { noMetrics, silentLog, type TaskDeps } from '../../../lambdas/runtime/deps';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { createTestDatabase } from '../../helpers/database';

/*
 * Finalize job is retried by the state machine (a timeout or a lost response after its
 * transaction committed). The run's metrics (SuccessfulRuns, WorkspacesFailed...) must
 * count the run once: only the attempt that finalized the job emits them.
 */
const db = await createTestDatabase();

function depsRecordingMetrics(finished: JobRecord[]): TaskDeps {
  return {
    sql: db.sql,
    config: loadConfig({ DATABASE_URL: 'postgres://unused' }),
    secrets: { resolve: async () => 'unused', resolveJson: async () => ({}) as never, forget() {}, clear() {} },
    log: silentLog,
    metrics: { ...noMetrics, runFinished: (summary) => finished.push(summary) },
    now: Date.now,
  };
}

describe('Finalize job', () => {
  it('emits the run metrics when it finalizes the job, and not again when retried', async () => {
    await upsertWorkspace(db.sql, { name: 'Acme', baseUrl: 'http://127.0.0.1:9', apiKeyRef: 'env:UNUSED' });
    const started = await startJob(db.sql, { jobName: 'finalize-metrics', runTimeoutMinutes: 60 });
    if (started.status !== 'started') throw new Error(`job not started: ${started.status}`);
    const finished: JobRecord[] = [];
    const finalize = createFinalizeJobTask(depsRecordingMetrics(finished));

    const first = await finalize({ jobId: started.jobId });
    const retried = await finalize({ jobId: started.jobId });

    expect(first.status).not.toBe('running');
    expect(retried).toEqual({ ...first, alreadyEnded: true, note: expect.stringMatching(/had already ended/) });
    expect(finished).toEqual([first]);
  });
});
