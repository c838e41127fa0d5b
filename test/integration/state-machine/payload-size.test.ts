import { describe, expect, it } from 'vitest';
import { silentLog, noMetrics, type TaskDeps } from '../../../lambdas/runtime/deps';
import { createTaskHandlers, type TaskHandlers } from '../../../lambdas/tasks';
import { loadConfig } from '../../../lambdas/config/load-config';
import { runStateMachineLocally } from '../../../state-machine/local-runner';
import { createTestDatabase } from '../../helpers/database';

/*
 * Step Functions refuses a state input or output over 256 KiB, and every byte of the
 * Map's input is copied into each iteration's history. Issue 7 sets 16 KiB at 1,000
 * workspaces: the real Start job lists 1,000 workspaces with 100-character names, and
 * the real definition carries them. Sync workspace is a stand-in here (it only echoes
 * what the real one returns); the sync itself is covered elsewhere.
 */
const COUNT = 1000;
const db = await createTestDatabase();

describe('state payloads at 1,000 workspaces', () => {
  it('stay under 16 KiB: Start job hands the Map ids, not names', async () => {
    await db.sql`
      insert into workspaces (name, base_url, api_key_ref, active)
      select 'Workspace ' || lpad(i::text, 4, '0') || ' ' || repeat('x', 85), 'http://127.0.0.1:9', 'env:UNUSED_KEY', true
      from generate_series(1, ${COUNT}) as i
    `;
    const deps: TaskDeps = {
      sql: db.sql,
      config: loadConfig({ DATABASE_URL: 'postgres://unused' }),
      secrets: { resolve: async () => 'unused', resolveJson: async () => ({}) as never, forget() {}, clear() {} },
      log: silentLog,
      metrics: noMetrics,
      now: Date.now,
    };
    const seen: number[] = [];
    const handlers: TaskHandlers = {
      ...createTaskHandlers(deps),
      syncWorkspace: async (event) => {
        const { jobId, workspace } = event as { jobId: string; workspace: { id: number } };
        seen.push(workspace.id);
        await db.sql`update polling_job_workspaces set status = 'synced', finished_at = now() where job_id = ${jobId} and workspace_id = ${workspace.id}`;
        return { jobId, workspace: { id: workspace.id, name: 'x'.repeat(100) }, done: true, cursor: null, accountsSynced: 0 };
      },
    };
    const result = await runStateMachineLocally({ input: {}, handlers, instantRetries: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(new Set(seen).size).toBe(COUNT);
    const sizes = result.events.map((event) => Buffer.byteLength(JSON.stringify(event)));
    const largest = Math.max(...sizes);
    expect(largest).toBeLessThan(16 * 1024);
    // With names the Map's input alone would be over 100 KB: this is what the ids save.
    expect(largest).toBeGreaterThan(COUNT * 2);
  }, 60_000);
});
