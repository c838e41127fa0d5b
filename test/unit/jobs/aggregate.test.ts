import { describe, expect, it } from 'vitest';
import { aggregate, MAX_JOB_WARNINGS, type WorkspaceRow } from '../../../lambdas/jobs/aggregate';

function workspace(name: string, status: WorkspaceRow['status'], fields: Partial<WorkspaceRow> = {}): WorkspaceRow {
  return {
    workspace_name: name,
    status,
    accounts_synced: 0,
    accounts_removed: 0,
    rate_limit_wait_ms: 0,
    warnings: [],
    error: null,
    ...fields,
  };
}

describe('aggregate', () => {
  it('is completed when every workspace synced, with each warning prefixed by its workspace', () => {
    const outcome = aggregate(
      [
        workspace('Acme', 'synced', { accounts_synced: 433, accounts_removed: 2, warnings: ['skipped an invalid item on page 3: no id'] }),
        workspace('Birch', 'synced', { accounts_synced: 10 }),
      ],
      undefined,
    );
    expect(outcome).toEqual({
      status: 'completed',
      synced: 2,
      failed: 0,
      skipped: 0,
      deferred: 0,
      accountsSynced: 443,
      accountsRemoved: 2,
      warnings: ['Acme: skipped an invalid item on page 3: no id'],
      errorMessage: null,
    });
  });

  it('is partial when some workspaces did not sync, and names each failed or skipped one with its cause', () => {
    const outcome = aggregate(
      [
        workspace('Acme', 'synced', { accounts_synced: 5 }),
        workspace('Birch', 'failed', { accounts_synced: 3, error: 'RejectedApiKeyError: EmailBison rejected the key' }),
        workspace('Cedar', 'failed'),
        workspace('Dune', 'skipped', { error: 'not synced: cancelled' }),
        workspace('Elm', 'pending'),
      ],
      undefined,
    );
    expect(outcome.status).toBe('partial');
    expect(outcome).toMatchObject({ synced: 1, failed: 2, skipped: 2, accountsSynced: 8, errorMessage: null });
    expect(outcome.warnings).toEqual([
      'Birch: failed: RejectedApiKeyError: EmailBison rejected the key',
      'Cedar: failed: no error recorded',
      'Dune: skipped: not synced: cancelled',
      'Elm: skipped: not synced: the run ended before this workspace finished',
    ]);
  });

  it('names a workspace on a dead instance unreachable, not failed', () => {
    const outcome = aggregate(
      [
        workspace('Acme', 'synced'),
        workspace('Birch', 'failed', {
          error: 'EmailBisonUnreachableError: EmailBison at send.example.com is unreachable (workspace "Birch")',
        }),
      ],
      undefined,
    );
    expect(outcome).toMatchObject({ status: 'partial', failed: 1 });
    expect(outcome.warnings).toEqual(['Birch: unreachable: EmailBison at send.example.com is unreachable (workspace "Birch")']);
  });

  it('is failed when no workspace synced, saying how many failed and were skipped', () => {
    const outcome = aggregate([workspace('Acme', 'failed', { error: 'boom' }), workspace('Birch', 'running')], undefined);
    expect(outcome).toMatchObject({ status: 'failed', synced: 0, failed: 1, skipped: 1 });
    expect(outcome.errorMessage).toBe('No workspace synced (1 failed, 1 skipped).');
    expect(outcome.warnings).toEqual(['Acme: failed: boom', 'Birch: skipped: not synced: the run ended before this workspace finished']);
  });

  it('is failed with the run error when the run itself broke, even if every workspace synced', () => {
    const outcome = aggregate([workspace('Acme', 'synced', { accounts_synced: 7 })], 'States.Timeout: the run timed out');
    expect(outcome).toMatchObject({ status: 'failed', synced: 1, accountsSynced: 7, errorMessage: 'States.Timeout: the run timed out' });
  });

  it('is completed for a job with no workspaces', () => {
    expect(aggregate([], undefined)).toMatchObject({ status: 'completed', synced: 0, warnings: [], errorMessage: null });
  });

  it('is partial when workspaces were deferred, in one bounded warning per instance, listed first', () => {
    const reason =
      'deferred: this instance (eb.example) needs 95 min at 3 req/s: raise EMAILBISON_MAX_RPS or the interval (a run has 60 min)';
    const rows = [
      workspace('Acme', 'synced', { accounts_synced: 10 }),
      workspace('Birch', 'failed', { error: 'UnexpectedResponseError: HTTP 500' }),
      ...Array.from({ length: 2000 }, (_, i) => workspace(`Deferred ${String(i).padStart(4, '0')}`, 'deferred', { error: reason })),
      ...Array.from({ length: 300 }, (_, i) => workspace(`Broken ${i}`, 'failed', { error: 'boom' })),
    ];
    const outcome = aggregate(rows, undefined);
    expect(outcome).toMatchObject({ status: 'partial', synced: 1, failed: 301, skipped: 2000, deferred: 2000 });
    expect(outcome.warnings).toHaveLength(MAX_JOB_WARNINGS);
    expect(outcome.warnings[0]).toBe(
      `2000 workspaces ${reason} (they sync first next run): ${Array.from({ length: 10 }, (_, i) => `Deferred 000${i}`).join(', ')}, … and 1990 more`,
    );
    expect(outcome.warnings[1]).toBe('Birch: failed: UnexpectedResponseError: HTTP 500');
    expect(outcome.warnings.at(-1)).toBe("… and 203 more warnings: polling_job_workspaces holds each workspace's");
  });
});

describe('aggregate, a warmup pass', () => {
  const noEndpoint = (host: string) => `no warmup endpoint: EmailBison at ${host} answered 404 to GET /api/warmup/sender-emails`;

  it('says an instance without the warmup list once, however many of its workspaces were skipped, and stays completed', () => {
    const outcome = aggregate(
      [
        workspace('Acme', 'synced', { accounts_synced: 40 }),
        workspace('Birch', 'skipped', { error: noEndpoint('old.example.com') }),
        workspace('Cedar', 'skipped', { error: noEndpoint('old.example.com') }),
        workspace('Dune', 'skipped', { error: noEndpoint('old.example.com') }),
      ],
      undefined,
    );
    expect(outcome).toMatchObject({ status: 'completed', synced: 1, skipped: 3, failed: 0, errorMessage: null });
    expect(outcome.warnings).toEqual([`${noEndpoint('old.example.com')}: its 3 workspaces skipped (Birch, Cedar, Dune)`]);
  });

  it('is completed with only that warning when no instance has the list, and partial when another workspace failed', () => {
    expect(aggregate([workspace('Birch', 'skipped', { error: noEndpoint('a.example') })], undefined)).toMatchObject({
      status: 'completed',
      warnings: [`${noEndpoint('a.example')}: its 1 workspace skipped (Birch)`],
    });
    const partial = aggregate(
      [
        workspace('Acme', 'synced'),
        workspace('Birch', 'skipped', { error: noEndpoint('a.example') }),
        workspace('Cedar', 'failed', { error: 'MalformedPageError: page 4 of workspace "Cedar"' }),
      ],
      undefined,
    );
    expect(partial.status).toBe('partial');
    expect(partial.warnings).toEqual([
      `${noEndpoint('a.example')}: its 1 workspace skipped (Birch)`,
      'Cedar: failed: MalformedPageError: page 4 of workspace "Cedar"',
    ]);
  });
});
