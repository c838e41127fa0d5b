import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambdas/config/load-config';
import { MAX_DIGEST_BYTES, utf8Bytes } from '../../../lambdas/digests/message';
import { createFinalizeJobTask } from '../../../lambdas/finalize-job/task';
import { jobWarmupAlerts } from '../../../lambdas/health/warmup-alerts';
import { readWarmupDigest } from '../../../lambdas/health/warmup-digest';
import { DIGEST_ACCOUNTS_LISTED, formatDigest, type RunDigest } from '../../../lambdas/jobs/run-changes';
import { startJob } from '../../../lambdas/jobs/start-job';
import { noMetrics, silentLog, type TaskDeps } from '../../../lambdas/runtime/deps';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { createTestDatabase } from '../../helpers/database';
import { insertAccounts, insertWarmupRows, utcDay } from '../../helpers/warmup-rows';

/*
 * Issue 24 item 2: the warmup pass's digest names the accounts whose warmup score fell by
 * WARMUP_SCORE_DROP_POINTS since their previous day, fell under WARMUP_SCORE_FLOOR, or were
 * disabled for bouncing, from the warmup rows that job wrote, within the digest's cap.
 */
const db = await createTestDatabase();
const THRESHOLDS = { dropPoints: 10, floor: 50 };
const YESTERDAY = utcDay(-1);
const TODAY = utcDay(0);

function deps(published: { subject: string; message: string }[]): TaskDeps {
  return {
    sql: db.sql,
    config: loadConfig({ DATABASE_URL: 'postgres://unused', WARMUP_SCORE_DROP_POINTS: '10', WARMUP_SCORE_FLOOR: '50' }),
    secrets: { resolve: async () => 'unused', resolveJson: async () => ({}) as never, forget() {}, clear() {} },
    log: silentLog,
    metrics: noMetrics,
    now: Date.now,
    changes: { publish: async (message) => void published.push(message) },
  };
}

async function startedJob(mode: 'sync' | 'warmup'): Promise<string> {
  const jobName = mode === 'warmup' ? 'sender-emails-sync-warmup' : 'sender-emails-sync';
  const started = await startJob(db.sql, { jobName, mode, warmupDay: TODAY, runTimeoutMinutes: 60 });
  if (started.status !== 'started') throw new Error(`job not started: ${started.status}`);
  return started.jobId;
}

describe("a warmup pass's digest", async () => {
  const acme = await upsertWorkspace(db.sql, { name: 'Acme Outbound', baseUrl: 'http://127.0.0.1:9', apiKeyRef: 'env:UNUSED' });
  const juniper = await upsertWorkspace(db.sql, { name: 'Juniper Health', baseUrl: 'http://127.0.0.1:9', apiKeyRef: 'env:UNUSED' });
  const emails = ['drop', 'cross', 'bounce', 'low', 'dip', 'new'];
  await insertAccounts(
    db.sql,
    acme.id,
    emails.map((name, i) => ({ emailbisonId: i + 1, email: `${name}@acme.test` })),
  );
  await insertAccounts(db.sql, juniper.id, [
    { emailbisonId: 11, email: 'fall@juniper.test' },
    { emailbisonId: 12, email: 'other-pass@juniper.test' },
  ]);
  const earlierPass = randomUUID();
  await insertWarmupRows(db.sql, acme.id, [
    { emailbisonId: 1, day: YESTERDAY, score: 92, jobId: earlierPass },
    { emailbisonId: 2, day: YESTERDAY, score: 55, jobId: earlierPass },
    { emailbisonId: 3, day: YESTERDAY, score: 80, jobId: earlierPass },
    { emailbisonId: 4, day: YESTERDAY, score: 30, jobId: earlierPass },
    { emailbisonId: 5, day: YESTERDAY, score: 80, jobId: earlierPass },
  ]);
  await insertWarmupRows(db.sql, juniper.id, [
    { emailbisonId: 11, day: YESTERDAY, score: 90, jobId: earlierPass },
    { emailbisonId: 12, day: YESTERDAY, score: 90, jobId: earlierPass },
    // Written today by another pass: not this job's news.
    { emailbisonId: 12, day: TODAY, score: 20, jobId: earlierPass },
  ]);
  const jobId = await startedJob('warmup');
  await insertWarmupRows(db.sql, acme.id, [
    { emailbisonId: 1, day: TODAY, score: 70, jobId }, // down 22: a drop
    { emailbisonId: 2, day: TODAY, score: 48, jobId }, // down 7, but under 50 now: a crossing
    { emailbisonId: 3, day: TODAY, score: 79, disabledForBouncing: 1, jobId }, // disabled for bouncing
    { emailbisonId: 4, day: TODAY, score: 29, jobId }, // under 50 both days: named once, when it crossed
    { emailbisonId: 5, day: TODAY, score: 75, jobId }, // down 5: under the threshold
    { emailbisonId: 6, day: TODAY, score: 40, jobId }, // first row, under the floor
  ]);
  await insertWarmupRows(db.sql, juniper.id, [{ emailbisonId: 11, day: TODAY, score: 60, jobId }]);

  it('names each drop, crossing and bounce disablement of the rows the job wrote, once, lowest score first', async () => {
    const alerts = await jobWarmupAlerts(db.sql, jobId, THRESHOLDS, DIGEST_ACCOUNTS_LISTED);
    expect(
      alerts.map((w) => ({
        workspace: w.workspace,
        notListed: w.notListed,
        alerts: w.alerts.map((a) => [a.email, a.previousScore, a.score, a.dropped, a.underFloor, a.disabledForBouncing]),
      })),
    ).toEqual([
      {
        workspace: 'Acme Outbound',
        notListed: 0,
        alerts: [
          ['new@acme.test', null, 40, false, true, false],
          ['cross@acme.test', 55, 48, false, true, false],
          ['drop@acme.test', 92, 70, true, false, false],
          ['bounce@acme.test', 80, 79, false, false, true],
        ],
      },
      { workspace: 'Juniper Health', notListed: 0, alerts: [['fall@juniper.test', 90, 60, true, false, false]] },
    ]);
  });

  it("Finalize job publishes them in the run's digest, and a later run that wrote no warmup rows sends nothing of them", async () => {
    // A webhook disconnection pending for its own digest: the warmup digest does not name it, so it stays pending.
    await db.sql`insert into webhook_publish_state (workspace_id) values (${acme.id})`;
    await db.sql`
      insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, source, delivery_key)
      values (${acme.id}, 1, 'drop@acme.test', 'status', '"Connected"', '"Not connected"', 'webhook', 'delivery-1')
    `;
    const published: { subject: string; message: string }[] = [];
    await createFinalizeJobTask(deps(published))({ jobId });
    expect(published).toHaveLength(1);
    const [{ subject, message }] = published;
    expect(subject).toBe('sender-sync: 5 warmup alerts, 0 disconnected, 0 removed, 0 reconnected, 0 added');
    const why = '(down 10+ points since the previous day, under 50, or disabled for bouncing)';
    expect(message.split('\n').slice(2)).toEqual([
      `Acme Outbound: warmup health, 4 accounts ${why}`,
      '  new@acme.test: score 40, under 50',
      '  cross@acme.test: score 55 → 48 (-7), under 50',
      '  drop@acme.test: score 92 → 70 (-22)',
      '  bounce@acme.test: score 80 → 79 (-1), warmup disabled for bouncing',
      '',
      `Juniper Health: warmup health, 1 account ${why}`,
      '  fall@juniper.test: score 90 → 60 (-30)',
    ]);

    expect(await db.sql`select published_through_id::int as id from webhook_publish_state`).toEqual([{ id: 0 }]);
    await db.sql`delete from sender_email_changes where source = 'webhook'`;

    const sync = await startedJob('sync');
    const later: { subject: string; message: string }[] = [];
    await createFinalizeJobTask(deps(later))({ jobId: sync });
    expect(later).toEqual([]);
  });
});

describe('a burst of warmup alerts', () => {
  it('2,000 workspaces x 30 accounts dropping: one digest under 200 KB, the rest counted with `sender-sync health`', async () => {
    const workspaces = await db.sql<{ id: number }[]>`
      insert into workspaces (name, base_url, api_key_ref)
      select 'Burst ' || lpad(n::text, 4, '0'), 'http://127.0.0.1:9', 'env:UNUSED' from generate_series(1, 2000) n
      returning id
    `;
    const jobId = randomUUID();
    await db.sql`insert into polling_job_status (id, job_name, status, run_mode, warmup_day)
      values (${jobId}, 'burst-warmup', 'running', 'warmup', ${TODAY}::date)`;
    await db.sql`
      insert into sender_email_warmup_daily (workspace_id, emailbison_id, day, warmup_score, job_id)
      select w.id, a, d.day, case when d.day = ${TODAY}::date then 40 + a else 95 end, case when d.day = ${TODAY}::date then ${jobId}::uuid end
      from unnest(${workspaces.map((w) => w.id)}::int[]) w(id)
      cross join generate_series(1, 30) a
      cross join (values (${YESTERDAY}::date), (${TODAY}::date)) d(day)
    `;
    const started = performance.now();
    const warmup = await readWarmupDigest(db.sql, jobId, THRESHOLDS, DIGEST_ACCOUNTS_LISTED);
    const readMs = performance.now() - started;
    const digest: RunDigest = { jobId, jobName: 'burst-warmup', completedAt: null, since: null, workspaces: [], warmup };
    const { subject, message } = formatDigest(digest);
    expect(subject).toBe('sender-sync: 60000 warmup alerts, 0 disconnected, 0 removed, 0 reconnected, 0 added');
    expect(utf8Bytes(subject) + utf8Bytes(message)).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    expect(message.split('\n').at(-1)).toMatch(/^… and 1,\d{3} more workspaces, [\d,]+ accounts: `sender-sync health`$/);
    expect(accountedFor(message)).toBe(60_000);
    console.log(`2,000 x 30 warmup alerts: read in ${Math.round(readMs)} ms, ${utf8Bytes(message)} bytes`);
  }, 120_000);
});

/** Accounts a message accounts for: each listed line, each "… and N more", each "N more workspaces, M accounts". */
function accountedFor(message: string): number {
  let total = 0;
  for (const line of message.split('\n')) {
    const summary = /^… and [\d,]+ more workspaces?, ([\d,]+) accounts?: `/.exec(line);
    const more = /^ {2}… and ([\d,]+) more/.exec(line);
    if (summary) total += Number(summary[1].replace(/,/g, ''));
    else if (more) total += Number(more[1].replace(/,/g, ''));
    else if (/^ {2}\S.*: /.test(line)) total += 1;
  }
  return total;
}
