import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambdas/config/load-config';
import { createFinalizeJobTask } from '../../../lambdas/finalize-job/task';
import { createMarkFailedTask } from '../../../lambdas/mark-failed/task';
import { noMetrics, type TaskDeps, type TaskLog } from '../../../lambdas/runtime/deps';
import { snsPublisher } from '../../../lambdas/runtime/changes-topic';
import { createSecretResolver } from '../../../lambdas/secrets/resolve';
import { createTestDatabase } from '../../helpers/database';

/*
 * Finalize job's digest through the production publisher (SNS mocked with
 * aws-sdk-client-mock), on change rows made here: what it counts (webhook rows included,
 * only since the previous run), how many accounts it lists, and what a failed publish does.
 */
const db = await createTestDatabase();
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:sender-sync-changes';
const sns = mockClient(SNSClient);
afterEach(() => sns.reset());

const errors: string[] = [];
const log: TaskLog = { info() {}, warn() {}, error: (message) => errors.push(message), setContext() {} };
const counted: unknown[] = [];
const deps: TaskDeps = {
  sql: db.sql,
  config: loadConfig({}),
  secrets: createSecretResolver({ env: {} }),
  log,
  metrics: { ...noMetrics, runChanges: (counts) => counted.push(counts) },
  now: Date.now,
  changes: snsPublisher(TOPIC, new SNSClient({ region: 'eu-west-1' })),
};

const [{ id: workspaceId }] = await db.sql<{ id: number }[]>`
  insert into workspaces (name, base_url, api_key_ref) values ('Digest Co', 'https://send.example.com', 'env:DIGEST_KEY') returning id
`;

/** A running job with the workspace synced, as the sync leaves it for Finalize job. */
async function runningJob(): Promise<string> {
  const [job] = await db.sql<{ id: string }[]>`insert into polling_job_status (job_name) values ('digest-test') returning id`;
  await db.sql`
    insert into polling_job_workspaces (job_id, workspace_id, workspace_name, status) values (${job.id}, ${workspaceId}, 'Digest Co', 'synced')
  `;
  return job.id;
}

async function statusChange(id: number, from: string, to: string, source: 'sync' | 'webhook', jobId: string) {
  await db.sql`
    insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, source, job_id, delivery_key)
    values (${workspaceId}, ${id}, ${`inbox${String(id).padStart(3, '0')}@digest.example.com`}, 'status', to_jsonb(${from}::text),
            to_jsonb(${to}::text), ${source}, ${source === 'sync' ? jobId : null}, ${source === 'webhook' ? `${id}`.padStart(64, 'f') : null})
  `;
}

describe("Finalize job's digest", () => {
  it('lists 50 accounts and counts the rest, counts webhook rows too, and publishes once to the ChangesTopic', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const jobId = await runningJob();
    for (let id = 1; id <= 58; id++) await statusChange(id, 'Connected', 'Not connected', 'sync', jobId);
    await statusChange(59, 'Connected', 'Disconnected', 'webhook', jobId);
    await statusChange(60, 'Not connected', 'Connected', 'webhook', jobId);

    await createFinalizeJobTask(deps)({ jobId });

    const [job] =
      await db.sql`select accounts_disconnected, accounts_reconnected, accounts_added, accounts_removed from polling_job_status where id = ${jobId}`;
    expect(job).toEqual({ accounts_disconnected: 59, accounts_reconnected: 1, accounts_added: 0, accounts_removed: 0 });
    expect(counted.at(-1)).toEqual({ disconnected: 59, reconnected: 1, added: 0, removed: 0 });
    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const { TopicArn, Subject, Message } = calls[0].args[0].input;
    expect(TopicArn).toBe(TOPIC);
    expect(Subject).toBe('sender-sync: 59 disconnected, 0 removed, 1 reconnected, 0 added');
    const listed = Message!.split('\n').filter((line) => line.startsWith('  inbox'));
    expect(listed).toHaveLength(50);
    expect(listed[0]).toBe('  inbox001@digest.example.com: Connected → Not connected');
    expect(Message).toContain('  … and 10 more');
    expect(Message).not.toContain('DIGEST_KEY');
  });

  it("counts only what changed since the previous run's end, and publishes nothing when nothing disconnected", async () => {
    const jobId = await runningJob();
    await statusChange(61, 'Not connected', 'Connected', 'webhook', jobId);
    await createFinalizeJobTask(deps)({ jobId });
    const [job] = await db.sql`select accounts_disconnected, accounts_reconnected from polling_job_status where id = ${jobId}`;
    expect(job).toEqual({ accounts_disconnected: 0, accounts_reconnected: 1 });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('logs a digest SNS refused and still records the job', async () => {
    sns.on(PublishCommand).rejects(new Error('AuthorizationError: not allowed'));
    const jobId = await runningJob();
    await statusChange(62, 'Connected', 'Not connected', 'sync', jobId);
    const result = await createFinalizeJobTask(deps)({ jobId });
    expect(result.status).toBe('completed');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(errors).toEqual(['run digest not published']);
  });

  it('goes out from Mark failed when the run itself broke, once', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const jobId = await runningJob();
    await statusChange(63, 'Connected', 'Not connected', 'webhook', jobId);
    const markFailed = createMarkFailedTask(deps);
    const event = { scope: 'run' as const, jobId, error: { Error: 'States.Timeout', Cause: 'the run timed out' } };
    expect(await markFailed(event)).toMatchObject({ recorded: true, status: 'failed' });
    await markFailed(event);
    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input.Message).toContain('inbox063@digest.example.com: Connected → Not connected');
  });
});
