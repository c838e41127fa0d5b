import { expect } from 'vitest';
import type { TaskDeps } from '../../lambdas/runtime/deps';
import type { LocalRunResult } from '../../state-machine/local-runner';
import type { TestDatabase } from '../helpers/database';
import { runLocally } from '../helpers/local-run';
import type { World } from '../helpers/world';

/*
 * What every fault scenario shares: a snapshot of the database before the run, the run
 * through the synthesized state machine, and the check of each workspace against the
 * simulator's truth (no account lost, none duplicated, none wrongly removed; a failed
 * workspace exactly as it was) and of the job row (terminal, right status and warnings).
 * Each check counts into one summary, printed as the suite's `faults: ...` line.
 */

export type Snapshot = Map<string, { id: number; raw: string; deleted: boolean }[]>;

export interface Expectation {
  status: 'completed' | 'partial' | 'failed';
  /** Workspaces expected not to sync; all others must. */
  failed?: string[];
  /** Each expected warning, matched in order of the job's warnings. */
  warnings?: RegExp[];
  /**
   * Where which workspaces warn depends on timing (who was mid-walk when the instance
   * switched): every warning must match this, however many there are.
   */
  warningsEach?: RegExp;
  /** A follow-up run of the same scenario: checked, not counted as a scenario of its own. */
  followUp?: boolean;
  /** Synced workspaces whose fetch was inconsistent: nothing removed, nothing lost, maybe not all new accounts seen. */
  inconsistent?: string[];
  /**
   * Synced workspaces whose walk had no total to check (a cursor-only instance): every account
   * of the truth is live and exact, and an account gone upstream may still be live until a
   * second complete walk misses it; nothing is wrongly removed.
   */
  removalPending?: string[];
}

export interface FaultSummary {
  scenarios: number;
  accountsChecked: number;
  lost: number;
  duplicated: number;
  wronglyRemoved: number;
  stuckJobs: number;
}

export interface ScenarioOptions {
  deps?: TaskDeps;
  override?: Parameters<typeof runLocally>[2];
  /** The execution input; default `{}` (every active workspace). */
  input?: unknown;
}

export interface FaultHarness {
  readonly summary: FaultSummary;
  /** Set by the suite's beforeAll. */
  world: World;
  snapshot(): Promise<Snapshot>;
  verify(result: LocalRunResult, before: Snapshot, expected: Expectation): Promise<Record<string, any>>;
  scenario(
    setup: () => void | Promise<void>,
    expected: Expectation,
    options?: ScenarioOptions,
  ): Promise<{ result: LocalRunResult; job: Record<string, any> }>;
  summaryLine(): string;
}

export function createFaultHarness(db: TestDatabase, workspaces: string[]): FaultHarness {
  const summary: FaultSummary = { scenarios: 0, accountsChecked: 0, lost: 0, duplicated: 0, wronglyRemoved: 0, stuckJobs: 0 };
  let current: World | undefined;

  const harness: FaultHarness = {
    summary,
    get world(): World {
      if (!current) throw new Error('the fault suite has no world yet (set harness.world in beforeAll)');
      return current;
    },
    set world(world: World) {
      current = world;
    },

    async snapshot() {
      const rows = await db.sql<{ name: string; id: number; raw: string; deleted: boolean }[]>`
        select w.name, se.emailbison_id as id, se.raw::text as raw, se.deleted_at is not null as deleted
        from sender_emails se join workspaces w on w.id = se.workspace_id order by w.name, se.emailbison_id`;
      const byName: Snapshot = new Map(workspaces.map((n) => [n, []]));
      for (const row of rows) byName.get(row.name)?.push({ id: row.id, raw: row.raw, deleted: row.deleted });
      return byName;
    },

    /** Checks the run against the truth and the snapshot taken before it; counts into the summary. */
    async verify(result, before, expected) {
      if (!expected.followUp) summary.scenarios += 1;
      const [job] = await db.sql`select * from polling_job_status where execution_arn = ${result.executionArn}`;
      expect(job, 'the run created its job row').toBeDefined();
      expect(job.status, `job status; warnings: ${JSON.stringify(job.warnings)}`).toBe(expected.status);
      expect(job.completed_at).toBeInstanceOf(Date);
      if (expected.warnings) {
        expect(job.warnings, `the job warnings: ${JSON.stringify(job.warnings)}`).toHaveLength(expected.warnings.length);
        expected.warnings.forEach((pattern, i) => expect(job.warnings[i]).toMatch(pattern));
      }
      if (expected.warningsEach) for (const warning of job.warnings ?? []) expect(warning).toMatch(expected.warningsEach);
      const rows = await db.sql<{ workspace_name: string; status: string }[]>`
        select workspace_name, status from polling_job_workspaces where job_id = ${job.id}`;
      const after = await harness.snapshot();
      const [{ dupes }] =
        await db.sql`select count(*)::int as dupes from (select 1 from sender_emails group by workspace_id, emailbison_id having count(*) > 1) d`;
      summary.duplicated += dupes;
      for (const row of rows) {
        const stored = after.get(row.workspace_name) ?? [];
        const previous = before.get(row.workspace_name) ?? [];
        const truth = harness.world.sim.truth(row.workspace_name);
        const truthIds = new Set(truth.map((a) => a.id));
        summary.accountsChecked += truth.length;
        if (expected.failed?.includes(row.workspace_name)) {
          expect(row.status, row.workspace_name).toBe('failed');
          expect(stored, `${row.workspace_name} left as it was`).toEqual(previous);
          continue;
        }
        expect(row.status, row.workspace_name).toBe('synced');
        const live = new Map(stored.filter((a) => !a.deleted).map((a) => [a.id, a]));
        const removed = stored.filter((a) => a.deleted).map((a) => a.id);
        const wronglyRemoved = removed.filter((id) => truthIds.has(id));
        summary.wronglyRemoved += wronglyRemoved.length;
        expect(wronglyRemoved, `${row.workspace_name}: live accounts marked removed`).toEqual([]);
        if (expected.inconsistent?.includes(row.workspace_name)) {
          // Not every account that appeared mid-read may have been seen; none that was live before may be lost.
          const lost = previous.filter((a) => !a.deleted && truthIds.has(a.id) && !live.has(a.id));
          summary.lost += lost.length;
          expect(lost).toEqual([]);
          expect(removed.length).toBe(previous.filter((a) => a.deleted).length);
          continue;
        }
        const lost = truth.filter((a) => !live.has(a.id));
        summary.lost += lost.length;
        expect(
          lost.map((a) => a.id),
          `${row.workspace_name}: accounts missing`,
        ).toEqual([]);
        if (expected.removalPending?.includes(row.workspace_name)) {
          // Still live but gone upstream: only accounts that were live before this run.
          const extra = [...live.keys()].filter((id) => !truthIds.has(id));
          const wasLive = new Set(previous.filter((a) => !a.deleted).map((a) => a.id));
          expect(
            extra.filter((id) => !wasLive.has(id)),
            `${row.workspace_name}: accounts that never existed upstream`,
          ).toEqual([]);
        } else {
          expect([...live.keys()].sort((a, b) => a - b)).toEqual(truth.map((a) => a.id));
        }
        for (const account of truth) expect(JSON.parse(live.get(account.id)!.raw)).toEqual(account);
      }
      const [{ stuck }] = await db.sql`select count(*)::int as stuck from polling_job_status where status = 'running'`;
      summary.stuckJobs += stuck;
      expect(stuck).toBe(0);
      return job;
    },

    async scenario(setup, expected, options = {}) {
      const world = harness.world;
      const before = await harness.snapshot();
      await setup();
      try {
        const result = await runLocally(options.deps ?? world.deps, options.input ?? {}, options.override);
        expect(result.status, `execution status (${result.error ?? ''}: ${result.cause ?? ''})`).toBe(
          expected.status === 'failed' ? 'FAILED' : 'SUCCEEDED',
        );
        return { result, job: await harness.verify(result, before, expected) };
      } finally {
        world.sim.clearFaults();
      }
    },

    summaryLine() {
      return `faults: ${summary.scenarios} scenarios run, ${summary.accountsChecked} accounts checked, lost ${summary.lost}, duplicated ${summary.duplicated}, wrongly removed ${summary.wronglyRemoved}, stuck jobs ${summary.stuckJobs}`;
    },
  };
  return harness;
}
