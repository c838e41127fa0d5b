import type { Sql } from '../db/client';
import { changesCommand, type DigestMessage, type DigestSection, fitDigest } from '../digests/message';
import { type WarmupDigest, warmupAlertCount, warmupSections } from '../health/warmup-digest';

/*
 * The run digest (issue 15): what changed in each workspace since the previous run, from
 * sender_email_changes whatever wrote the rows (the sync or the webhook receiver). A run's
 * window for a workspace is (the previous run's end, this run's end]: the previous run is
 * the latest other job of the workspace that ended (its polling_job_status.completed_at),
 * so consecutive runs' windows meet and each change is counted once. A workspace's first
 * run counts from the beginning.
 */

export interface ChangeCounts {
  disconnected: number;
  reconnected: number;
  added: number;
  removed: number;
}

export interface DigestAccount {
  emailbisonId: number;
  email: string | null;
  /** Status before and after the window (null when it did not change). */
  oldStatus: string | null;
  newStatus: string | null;
  removed: boolean;
  /** A webhook said EmailBison disabled its warmup for bounces (warmup_disabled_* events). */
  warmupDisabled: boolean;
}

export interface DigestWorkspace {
  workspaceId: number;
  workspace: string;
  counts: ChangeCounts;
  /** Accounts that disconnected, reconnected or were removed, by email; at most DIGEST_ACCOUNTS_LISTED. */
  accounts: DigestAccount[];
  /** Such accounts not listed. */
  notListed: number;
}

export interface RunDigest {
  jobId: string;
  jobName: string;
  completedAt: Date | null;
  /** Where the earliest window of the job's workspaces starts: `sender-sync changes --since <this>` lists every change the digest counts. */
  since: Date | null;
  workspaces: DigestWorkspace[];
  /** Warmup health alerts of the warmup rows the job wrote (a warmup pass): listed after the changes. */
  warmup?: WarmupDigest;
}

/** Accounts listed per workspace in a digest; the rest are counted. */
export const DIGEST_ACCOUNTS_LISTED = 50;

/**
 * The change rows of each workspace of the job in its window. Runs in Finalize job's
 * transaction, where now() is the job's completed_at.
 */
function windowedChanges(sql: Sql, jobId: string) {
  return sql`
    select c.*, w.workspace_name
    from polling_job_workspaces w
    cross join lateral (${previousRunEnd(sql)}) prev
    cross join lateral (select coalesce((select completed_at from polling_job_status where id = w.job_id), now()) as until) j
    -- A change recovered from the event log is observed at the event's time, which may be before
    -- the previous run's end: it counts in the run that recorded it (recorded_at), not in none.
    join sender_email_changes c on c.workspace_id = w.workspace_id
      and ((c.observed_at > prev.since and c.observed_at <= j.until)
        or (c.source = 'events' and c.recorded_at > prev.since and c.recorded_at <= j.until))
    where w.job_id = ${jobId}::uuid
      -- A warmup pass reads no accounts: its digest counts no account changes (the account sync's do).
      and (select run_mode from polling_job_status where id = w.job_id) = 'sync'
  `;
}

/** The end of the previous run of the workspace of polling_job_workspaces row `w` (-infinity before its first): where its window starts. */
function previousRunEnd(sql: Sql) {
  return sql`
    select coalesce(max(j.completed_at), '-infinity') as since
    from polling_job_workspaces p join polling_job_status j on j.id = p.job_id
    where p.workspace_id = w.workspace_id and p.job_id <> w.job_id and j.completed_at is not null and j.run_mode = 'sync'
      and j.started_at <= (select started_at from polling_job_status where id = w.job_id)
  `;
}

/** A status that counts as sending. Anything else ("Not connected", "Disconnected", ...) does not. */
const CONNECTED = 'connected';

/**
 * Counts each workspace's accounts disconnected, reconnected, added and removed in its
 * window onto its polling_job_workspaces row, and their sums onto polling_job_status.
 * An account counts once per kind however often it changed; one re-added under a new id
 * (a 'readded' row) counts as neither added nor removed.
 */
export async function recordRunChanges(sql: Sql, jobId: string): Promise<ChangeCounts> {
  await sql`
    with windowed as (${windowedChanges(sql, jobId)}),
    -- An account re-added under a new id (012) is neither removed nor added: one account.
    -- (An anti-join on the few 'readded' rows: a correlated EXISTS over the whole window ran
    -- once per change row, minutes for 2,000 workspaces x 50 changes.)
    readded as (
      select distinct workspace_id, old_value from windowed where field = 'readded'
    ),
    changes as (
      select c.* from windowed c
      left join readded r on c.field = 'removed' and r.workspace_id = c.workspace_id and r.old_value = to_jsonb(c.emailbison_id)
      where r.workspace_id is null
    ),
    counts as (
      select workspace_id,
        count(distinct emailbison_id) filter (where field = 'status'
          and lower(old_value #>> '{}') = ${CONNECTED} and lower(new_value #>> '{}') is distinct from ${CONNECTED})::int as disconnected,
        count(distinct emailbison_id) filter (where field = 'status'
          and lower(old_value #>> '{}') is distinct from ${CONNECTED} and lower(new_value #>> '{}') = ${CONNECTED})::int as reconnected,
        count(distinct emailbison_id) filter (where field = 'added')::int as added,
        count(distinct emailbison_id) filter (where field = 'removed' and new_value = 'true')::int as removed
      from changes group by workspace_id
    )
    update polling_job_workspaces w set
      accounts_disconnected = coalesce(c.disconnected, 0),
      accounts_reconnected = coalesce(c.reconnected, 0),
      accounts_added = coalesce(c.added, 0),
      accounts_removed_since_last_run = coalesce(c.removed, 0)
    from polling_job_workspaces w2 left join counts c on c.workspace_id = w2.workspace_id
    where w.job_id = ${jobId}::uuid and w2.job_id = w.job_id and w2.workspace_id = w.workspace_id
  `;
  const [totals] = await sql<ChangeCounts[]>`
    update polling_job_status j set
      accounts_disconnected = t.disconnected,
      accounts_reconnected = t.reconnected,
      accounts_added = t.added,
      accounts_removed = t.removed
    from (
      select coalesce(sum(accounts_disconnected), 0)::int as disconnected, coalesce(sum(accounts_reconnected), 0)::int as reconnected,
        coalesce(sum(accounts_added), 0)::int as added, coalesce(sum(accounts_removed_since_last_run), 0)::int as removed
      from polling_job_workspaces where job_id = ${jobId}::uuid
    ) t
    where j.id = ${jobId}::uuid
    returning t.disconnected, t.reconnected, t.added, t.removed
  `;
  return totals;
}

/**
 * The job's digest once it has ended: per workspace its counts and the accounts whose
 * status changed (first status of the window → last) or that were removed, by email.
 */
export async function readRunDigest(sql: Sql, jobId: string): Promise<RunDigest> {
  const [job] = await sql<{ job_name: string; completed_at: Date | null }[]>`
    select job_name, completed_at from polling_job_status where id = ${jobId}::uuid
  `;
  // Before a workspace's first run its window has no start: the first change the job counts stands for it.
  const [{ since }] = await sql<{ since: Date | null }[]>`
    -- The earliest change counted may be older than the window's start (a recovered event).
    select least(case when min(prev.since) > '-infinity' then min(prev.since) end,
      (select min(observed_at) - interval '1 millisecond' from (${windowedChanges(sql, jobId)}) c)) as since
    from polling_job_workspaces w cross join lateral (${previousRunEnd(sql)}) prev
    where w.job_id = ${jobId}::uuid
  `;
  const workspaces = await sql<(ChangeCounts & { workspace_id: number; workspace_name: string })[]>`
    select workspace_id, workspace_name, accounts_disconnected as disconnected, accounts_reconnected as reconnected,
      accounts_added as added, accounts_removed_since_last_run as removed
    from polling_job_workspaces where job_id = ${jobId}::uuid order by workspace_name
  `;
  const accounts = await sql<
    {
      workspace_id: number;
      emailbison_id: string;
      email: string | null;
      old_status: string | null;
      new_status: string | null;
      removed: boolean;
      warmup_disabled: boolean;
      listed: number;
      total: number;
    }[]
  >`
    with changes as (${windowedChanges(sql, jobId)}),
    per_account as (
      select workspace_id, emailbison_id,
        (array_agg(email order by observed_at desc, id desc))[1] as email,
        (array_agg(old_value #>> '{}' order by observed_at, id) filter (where field = 'status'))[1] as old_status,
        (array_agg(new_value #>> '{}' order by observed_at desc, id desc) filter (where field = 'status'))[1] as new_status,
        coalesce((array_agg(new_value = 'true' order by observed_at desc, id desc) filter (where field = 'removed'))[1], false) as removed,
        coalesce((array_agg(new_value = 'false' order by observed_at desc, id desc)
          filter (where field = 'warmup_enabled' and reason like 'warmup_disabled_%'))[1], false) as warmup_disabled
      from changes where field in ('status', 'removed', 'warmup_enabled')
      group by workspace_id, emailbison_id
    ),
    named as (
      select *, row_number() over (partition by workspace_id order by email, emailbison_id)::int as listed,
        count(*) over (partition by workspace_id)::int as total
      from per_account
      where removed or old_status is distinct from new_status or warmup_disabled
    )
    select * from named where listed <= ${DIGEST_ACCOUNTS_LISTED} order by workspace_id, listed
  `;
  return {
    jobId,
    jobName: job?.job_name ?? '',
    completedAt: job?.completed_at ?? null,
    since,
    workspaces: workspaces.map((w) => {
      const listed = accounts.filter((a) => a.workspace_id === w.workspace_id);
      return {
        workspaceId: w.workspace_id,
        workspace: w.workspace_name,
        counts: { disconnected: w.disconnected, reconnected: w.reconnected, added: w.added, removed: w.removed },
        accounts: listed.map((a) => ({
          emailbisonId: Number(a.emailbison_id),
          email: a.email,
          oldStatus: a.old_status,
          newStatus: a.new_status,
          removed: a.removed,
          warmupDisabled: a.warmup_disabled,
        })),
        notListed: Math.max(0, (listed[0]?.total ?? 0) - listed.length),
      };
    }),
  };
}

/**
 * A digest is sent when any account disconnected, was removed or had its warmup disabled for bounces since the previous run,
 * or has a warmup health alert.
 */
export function digestWorthSending(digest: RunDigest): boolean {
  return (
    warmupAlertCount(digest.warmup) > 0 ||
    digest.workspaces.some((w) => w.counts.disconnected > 0 || w.counts.removed > 0 || w.accounts.some((a) => a.warmupDisabled))
  );
}

/**
 * The digest as one SNS message: a subject of counts, then per workspace that changed its
 * counts and accounts, fitted into MAX_DIGEST_BYTES (digests/message.ts), what does not
 * fit summarised with the `sender-sync changes` command that lists it. Never a key: only
 * names, emails and statuses.
 */
export function formatDigest(digest: RunDigest): DigestMessage {
  const sum = (kind: keyof ChangeCounts) => digest.workspaces.reduce((n, w) => n + w.counts[kind], 0);
  const alerts = warmupAlertCount(digest.warmup);
  const subject = `sender-sync: ${alerts > 0 ? `${alerts} warmup ${alerts === 1 ? 'alert' : 'alerts'}, ` : ''}${sum('disconnected')} disconnected, ${sum('removed')} removed, ${sum('reconnected')} reconnected, ${sum('added')} added`;
  const sections: DigestSection[] = [];
  for (const w of digest.workspaces) {
    const c = w.counts;
    if (c.disconnected + c.reconnected + c.added + c.removed === 0 && w.accounts.length === 0) continue;
    sections.push({
      heading: `${w.workspace}: ${c.disconnected} disconnected, ${c.reconnected} reconnected, ${c.added} added, ${c.removed} removed`,
      lines: w.accounts.map((a) => {
        const status = a.oldStatus !== a.newStatus ? `${a.oldStatus ?? '(none)'} → ${a.newStatus ?? '(none)'}` : undefined;
        const what = [status, a.removed ? 'removed' : undefined, a.warmupDisabled ? 'warmup disabled (bounces)' : undefined];
        return `  ${a.email ?? `account ${a.emailbisonId}`}: ${what.filter(Boolean).join(', ')}`;
      }),
      accounts: w.accounts.length + w.notListed,
      notListed: w.notListed,
    });
  }
  if (digest.warmup) sections.push(...warmupSections(digest.warmup));
  return fitDigest({
    subject,
    intro: [
      digest.warmup?.day
        ? `Warmup health of ${digest.warmup.day} (job ${digest.jobId}, ${digest.jobName}):`
        : `Changes since the previous run (job ${digest.jobId}, ${digest.jobName}):`,
    ],
    sections,
    changesCommand: changesCommand(digest.since),
  });
}
