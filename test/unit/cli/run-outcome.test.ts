import { describe, expect, it } from 'vitest';
import { colorsFor } from '../../../cli/colors';
import { type OutcomeSummary, outcomeLine } from '../../../cli/run-outcome';
import type { JobRecord, JobWorkspaceRow } from '../../../lambdas/jobs/read-job';

/* The run's last line says how the job ended, not the state machine's SUCCEEDED. */

function job(overrides: Partial<JobRecord>): JobRecord {
  return {
    jobId: 'job-1',
    jobName: 'sender-emails-sync',
    runMode: 'sync',
    warmupDay: null,
    status: 'completed',
    triggerSource: 'manual',
    executionArn: null,
    startedAt: new Date(0),
    completedAt: new Date(2000),
    durationMs: 2000,
    totalWorkspaces: 26,
    workspacesSynced: 26,
    workspacesFailed: 0,
    workspacesSkipped: 0,
    workspacesDeferred: 0,
    totalAccountsSynced: 4228,
    totalAccountsRemoved: 0,
    rateLimitWaitMs: 0,
    warnings: [],
    errorMessage: null,
    ...overrides,
  };
}

function row(name: string, status: string): JobWorkspaceRow {
  return {
    workspace_name: name,
    status,
    accounts_synced: 0,
    accounts_written: 0,
    accounts_removed: 0,
    pages: 0,
    api_requests: 0,
    retries: 0,
    rate_limit_wait_ms: 0,
    invocations: 1,
    duration_ms: 10,
    warnings: [],
    error: null,
  };
}

const execution = { status: 'SUCCEEDED' as const, events: [], executionArn: 'arn', durationMs: 2000 };

function outcome(status: OutcomeSummary['status'], record: JobRecord | undefined, workspaces: JobWorkspaceRow[] = []): OutcomeSummary {
  return { status, job: record, workspaces, execution };
}

describe('the outcome line', () => {
  it('says completed with the workspaces and accounts, grouped', () => {
    expect(outcomeLine(outcome('completed', job({})))).toBe('completed: 26 of 26 workspaces, 4,228 accounts');
    expect(outcomeLine(outcome('completed', job({ totalWorkspaces: 1, workspacesSynced: 1, totalAccountsSynced: 1 })))).toBe(
      'completed: 1 of 1 workspace, 1 account',
    );
  });

  it('says partial with the workspaces deferred to the next run apart from the skipped ones', () => {
    const deferred = job({
      status: 'partial',
      totalWorkspaces: 1000,
      workspacesSynced: 300,
      workspacesSkipped: 700,
      workspacesDeferred: 700,
      totalAccountsSynced: 45_000,
    });
    expect(outcomeLine(outcome('partial', deferred))).toBe(
      'partial: 0 of 1,000 workspaces failed, 700 deferred to the next run; 45,000 accounts synced',
    );
  });

  it('says partial with how many of how many failed, naming them in a person’s order', () => {
    const partial = job({ status: 'partial', workspacesSynced: 25, workspacesFailed: 1, totalAccountsSynced: 3963 });
    expect(outcomeLine(outcome('partial', partial, [row('Acme Outbound', 'synced'), row('Juniper Health', 'failed')]))).toBe(
      'partial: 1 of 26 workspaces failed (Juniper Health); 3,963 accounts synced',
    );
    const many = job({ status: 'partial', workspacesSynced: 21, workspacesFailed: 5, totalAccountsSynced: 3000 });
    const failed = ['Zürich Data Partners', 'Summit Peak SaaS', 'São Paulo Growth Partners', 'Acme Outbound', 'Juniper Health'];
    expect(
      outcomeLine(
        outcome(
          'partial',
          many,
          failed.map((n) => row(n, 'failed')),
        ),
      ),
    ).toBe(
      'partial: 5 of 26 workspaces failed (Acme Outbound, Juniper Health, São Paulo Growth Partners and 2 more); 3,000 accounts synced',
    );
  });

  it('says failed with the job’s own reason, or what failed, or that no job was created', () => {
    const interrupted = job({ status: 'failed', errorMessage: 'The execution ended ABORTED: Interrupted (stopped by Ctrl-C).' });
    expect(outcomeLine(outcome('aborted', interrupted))).toBe('failed: The execution ended ABORTED: Interrupted (stopped by Ctrl-C).');
    const allFailed = job({ status: 'failed', totalWorkspaces: 2, workspacesSynced: 0, workspacesFailed: 2, totalAccountsSynced: 0 });
    expect(outcomeLine(outcome('failed', allFailed, [row('B', 'failed'), row('A', 'failed')]))).toBe(
      'failed: 2 of 2 workspaces failed (A, B)',
    );
    expect(
      outcomeLine({
        status: 'failed',
        workspaces: [],
        execution: { ...execution, status: 'FAILED', error: 'States.TaskFailed', cause: 'no database' },
      }),
    ).toBe('failed: the run failed before creating a job (States.TaskFailed: no database)');
  });

  it('colours the status green, yellow or red on a terminal, and not at all elsewhere', () => {
    const tty = colorsFor({ isTTY: true }, {});
    expect(outcomeLine(outcome('completed', job({})), tty)).toBe('\u001b[32mcompleted:\u001b[39m 26 of 26 workspaces, 4,228 accounts');
    expect(outcomeLine(outcome('partial', job({ status: 'partial', workspacesFailed: 1 })), tty)).toMatch(/^.\[33mpartial:/);
    expect(outcomeLine(outcome('failed', job({ status: 'failed', errorMessage: 'x' })), tty)).toBe('\u001b[31mfailed:\u001b[39m x');
    expect(outcomeLine(outcome('completed', job({})), colorsFor({ isTTY: false }, {}))).toBe(
      'completed: 26 of 26 workspaces, 4,228 accounts',
    );
    expect(outcomeLine(outcome('completed', job({})), colorsFor({ isTTY: true }, { NO_COLOR: '1' }))).not.toContain('\u001b');
    expect(outcomeLine(outcome('completed', job({})), colorsFor({ isTTY: true }, { TERM: 'dumb' }))).not.toContain('\u001b');
  });
});
