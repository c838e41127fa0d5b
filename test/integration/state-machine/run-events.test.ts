import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskLog } from '../../../lambdas/runtime/deps';
import type { RunEvent } from '../../../lambdas/runtime/run-events';
import { createTestDatabase } from '../../helpers/database';
import { runLocally } from '../../helpers/local-run';
import { createWorld, type World } from '../../helpers/world';

/*
 * The run's typed events, as the tasks emit them while the state machine runs locally:
 * what the CLI's progress display (and a progress bar) follow instead of log text.
 */
const db = await createTestDatabase();
let world: World;

beforeAll(async () => {
  world = await createWorld(db.sql, { only: ['Tidewater Consulting', 'Juniper Health', 'Quantum Leap Coaching'] });
});
afterAll(() => world.sim.close());

/** A log whose every line is reworded: progress must not notice. */
const rewordedLog: TaskLog = { info() {}, warn() {}, error() {}, setContext() {} };

async function runWithEvents(input: unknown = {}) {
  const events: RunEvent[] = [];
  const result = await runLocally({ ...world.deps, log: rewordedLog, onEvent: (event) => events.push(event) }, input);
  return { result, events };
}

const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);

describe('run events', () => {
  it('tell who is synced, page by page, and how the job ended', async () => {
    world.sim.setFaults('Juniper Health', { rejectKey: true });
    const { result, events } = await runWithEvents();
    world.sim.clearFaults();
    expect(result.status).toBe('SUCCEEDED');

    const [started] = ofType(events, 'job-started');
    expect(started.workspaces.map((w) => w.name).sort()).toEqual(['Juniper Health', 'Quantum Leap Coaching', 'Tidewater Consulting']);
    expect(events[0]).toBe(started);

    const tidewater = events.filter((e) => 'workspace' in e && e.workspace.name === 'Tidewater Consulting');
    expect(tidewater[0]).toEqual({
      type: 'workspace-syncing',
      jobId: started.jobId,
      workspace: { id: expect.any(Number), name: 'Tidewater Consulting' },
      cursor: null,
    });
    const pages = ofType(tidewater, 'page-synced');
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.at(-1)).toMatchObject({ lastPage: pages.at(-1)!.page });
    const accountsRead = pages.map((p) => p.accountsRead);
    expect(accountsRead).toEqual([...accountsRead].sort((a, b) => a - b));
    expect(tidewater.at(-1)).toMatchObject({ type: 'workspace-synced', accountsSynced: 433 });

    expect(ofType(events, 'workspace-attempt-failed')).toEqual([
      expect.objectContaining({
        workspace: expect.objectContaining({ name: 'Juniper Health' }),
        error: expect.objectContaining({ name: 'RejectedApiKeyError' }),
      }),
    ]);
    expect(ofType(events, 'workspace-failed')).toEqual([
      expect.objectContaining({
        workspace: expect.objectContaining({ name: 'Juniper Health' }),
        error: expect.stringMatching(/^RejectedApiKeyError: /),
      }),
    ]);

    const finished = events.at(-1);
    expect(finished).toMatchObject({
      type: 'job-finished',
      job: { jobId: started.jobId, status: 'partial', workspacesSynced: 2, workspacesFailed: 1 },
    });
  });

  it('say so when another run holds the lock, and start nothing', async () => {
    const [held] = await db.sql<
      { id: string }[]
    >`insert into polling_job_status (job_name) values (${world.deps.config.jobName}) returning id`;
    try {
      const { events } = await runWithEvents();
      expect(events).toEqual([{ type: 'already-running', runningJobId: held.id, runningForSeconds: expect.any(Number) }]);
    } finally {
      await db.sql`update polling_job_status set status = 'failed' where id = ${held.id}`;
    }
  });
});
