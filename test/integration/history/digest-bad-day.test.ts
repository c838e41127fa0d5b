import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import postgres from 'postgres';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_DIGEST_BYTES, utf8Bytes } from '../../../lambdas/digests/message';
import { createFinalizeJobTask } from '../../../lambdas/finalize-job/task';
import { createMarkFailedTask } from '../../../lambdas/mark-failed/task';
import { snsPublisher } from '../../../lambdas/runtime/changes-topic';
import { createLambdaRuntime, invoke } from '../../../lambdas/runtime/production';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';

/*
 * Issue 19 item 2, the run digest on the day many accounts break at once, through the
 * Lambdas' own runtime (createLambdaRuntime + invoke: Powertools metrics, the ChangesTopic
 * publisher wrapped as production wraps it) on a real Postgres, SNS mocked at its client:
 * - 85 workspaces x 50 disconnected accounts give one message under 200 KB whose summary
 *   names a `sender-sync changes --since` that lists every one of them (run on the bundle);
 * - a publish SNS refuses emits DigestsNotPublished and the run still finishes;
 * - SNS is called with no transaction open and no lock on the job's row.
 */
const db = await createTestDatabase();
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:sender-sync-changes';
const sns = mockClient(SNSClient);
afterEach(() => sns.reset());

const runtime = createLambdaRuntime(
  { DATABASE_URL: db.url, DATABASE_SSL: 'disable', CHANGES_TOPIC_ARN: TOPIC, LOG_LEVEL: 'ERROR' },
  { changesPublisher: (topicArn) => snsPublisher(topicArn, new SNSClient({ region: 'eu-west-1' })) },
);
const finalize = (jobId: string) => invoke(runtime, { jobId }, undefined, createFinalizeJobTask);

/** A running job over `workspaces` new workspaces, each with `accounts` accounts gone Connected -> Not connected. */
async function badDay(workspaces: number, accounts: number): Promise<string> {
  const tag = Math.random().toString(36).slice(2, 8);
  const [job] = await db.sql<{ id: string }[]>`insert into polling_job_status (job_name) values (${`bad-day-${tag}`}) returning id`;
  await db.sql`
    with created as (
      insert into workspaces (name, base_url, api_key_ref)
      select format('Client %s %s Outbound', ${tag}::text, lpad(n::text, 4, '0')), 'https://send.example.com', 'env:UNUSED'
      from generate_series(1, ${workspaces}) n
      returning id, name
    ),
    listed as (
      insert into polling_job_workspaces (job_id, workspace_id, workspace_name, status)
      select ${job.id}::uuid, id, name, 'synced' from created
      returning workspace_id
    )
    insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, source, job_id)
    select l.workspace_id, l.workspace_id * 1000 + a, format('inbox%s@client-%s-outbound.example.com', a, l.workspace_id), 'status',
      to_jsonb('Connected'::text), to_jsonb('Not connected'::text), 'sync', ${job.id}::uuid
    from listed l cross join generate_series(1, ${accounts}) a
  `;
  return job.id;
}

/** EMF lines printed while `run` runs: the metrics the Lambda emitted. */
async function emittedMetrics<T>(run: () => Promise<T>): Promise<{ result: T; metrics: Record<string, unknown>[] }> {
  const printed: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    const result = await run();
    const metrics = printed
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    return { result, metrics };
  } finally {
    write.mockRestore();
  }
}

/**
 * What holds the database while SNS is called, seen from another connection: transactions
 * open on any other client of the test database, and whether the job's row can be locked.
 */
async function heldWhilePublishing(jobId: string): Promise<{ openTransactions: number; jobRowLocked: boolean }> {
  const [{ n }] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid() and xact_start is not null
  `;
  const jobRowLocked = await db.sql
    .begin((tx) => tx`select id from polling_job_status where id = ${jobId} for update nowait`)
    .then(() => false)
    .catch((error: { code?: string }) => {
      if (error.code === '55P03') return true;
      throw error;
    });
  return { openTransactions: n, jobRowLocked };
}

describe('the run digest on a bad day', () => {
  it('85 workspaces x 50 disconnected accounts: one message under 200 KB, its summary naming a changes command that lists them all', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const jobId = await badDay(85, 50);
    const job = await finalize(jobId);
    expect(job.status).toBe('completed');

    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const { Subject, Message } = calls[0].args[0].input;
    const bytes = utf8Bytes(Subject!) + utf8Bytes(Message!);
    expect(bytes).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    expect(Subject).toBe('sender-sync: 4250 disconnected, 0 removed, 0 reconnected, 0 added');
    const summary = Message!.split('\n').at(-1)!;
    const match = /^… and (\d+) more workspaces, ([\d,]+) accounts: `sender-sync changes --since (\S+)`$/.exec(summary);
    expect(match, summary).not.toBeNull();
    const listed = Message!.split('\n').filter((line) => /^ {2}inbox\d+@/.test(line)).length;
    const cut = [...Message!.matchAll(/^ {2}… and (\d+) more/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(listed + cut + Number(match![2].replace(/,/g, ''))).toBe(85 * 50);
    console.log(`85 x 50 through Finalize job: ${bytes} bytes, ${listed} accounts listed; ${summary}`);

    // What the summary tells a person to run lists every change the digest counted.
    const changes = await cli(['changes', '--since', match![3], '--json'], { DATABASE_URL: db.url });
    expect(changes.code).toBe(0);
    expect(JSON.parse(changes.stdout).changes).toHaveLength(85 * 50);
  });

  it('2,000 workspaces x 50 disconnected accounts: still one message under 200 KB', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const jobId = await badDay(2000, 50);
    await finalize(jobId);
    const [call] = sns.commandCalls(PublishCommand);
    const { Subject, Message } = call.args[0].input;
    const bytes = utf8Bytes(Subject!) + utf8Bytes(Message!);
    expect(bytes).toBeLessThanOrEqual(MAX_DIGEST_BYTES);
    expect(Message).toMatch(/\n… and 1,9\d\d more workspaces, [\d,]+ accounts: `sender-sync changes --since \S+`$/);
    console.log(`2,000 x 50 through Finalize job: ${bytes} bytes; ${Message!.split('\n').at(-1)}`);
  });

  it('a publish SNS refuses emits DigestsNotPublished at once, and the run still finishes', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('Invalid parameter: Message too long'), { name: 'InvalidParameterException' }));
    const jobId = await badDay(2, 3);
    const { result, metrics } = await emittedMetrics(() => finalize(jobId));

    expect(result.status).toBe('completed');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    const failed = metrics.filter((doc) => 'DigestsNotPublished' in doc);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ DigestsNotPublished: 1, service: 'sender-sync' });
    expect(failed[0]._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: 'SenderSync', Dimensions: [['service']] }] });
    const [row] = await db.sql`select status, completed_at from polling_job_status where id = ${jobId}`;
    expect(row.status).toBe('completed');
    expect(row.completed_at).not.toBeNull();
  });

  it('a publish that goes through emits no DigestsNotPublished', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const jobId = await badDay(1, 2);
    const { metrics } = await emittedMetrics(() => finalize(jobId));
    expect(metrics.filter((doc) => 'DigestsNotPublished' in doc)).toEqual([]);
    expect(metrics.some((doc) => doc.AccountsDisconnected === 2)).toBe(true);
  });
});

describe('no SNS call while the database is held', () => {
  it('the probe sees a transaction holding the job row (so the checks below can fail)', async () => {
    const jobId = await badDay(1, 1);
    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      let seen: Awaited<ReturnType<typeof heldWhilePublishing>> | undefined;
      await other.begin(async (tx) => {
        await tx`select id from polling_job_status where id = ${jobId} for update`;
        seen = await heldWhilePublishing(jobId);
      });
      expect(seen).toEqual({ openTransactions: 1, jobRowLocked: true });
    } finally {
      await other.end();
    }
  });

  it.each([
    ['Finalize job', (jobId: string) => finalize(jobId)],
    [
      'Mark failed (a run that broke)',
      (jobId: string) =>
        invoke(
          runtime,
          { scope: 'run' as const, jobId, error: { Error: 'States.Timeout', Cause: 'timed out' } },
          undefined,
          createMarkFailedTask,
        ),
    ],
  ])('%s publishes after its transaction committed, with nothing open or locked', async (_name, run) => {
    const jobId = await badDay(3, 4);
    const seen: Awaited<ReturnType<typeof heldWhilePublishing>>[] = [];
    sns.on(PublishCommand).callsFake(async () => {
      seen.push(await heldWhilePublishing(jobId));
      return { MessageId: 'm-4' };
    });
    await run(jobId);
    expect(seen).toEqual([{ openTransactions: 0, jobRowLocked: false }]);
    const [row] = await db.sql`select status from polling_job_status where id = ${jobId}`;
    expect(row.status).not.toBe('running');
  });
});
