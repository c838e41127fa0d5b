import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { executionConsoleUrl } from '../../../cli/aws';
import { statusCommand } from '../../../cli/commands/reports';
import { triggerCommand } from '../../../cli/commands/trigger';
import { createTestDatabase } from '../../helpers/database';

/* `trigger` and `status` against the deployed state machine: SFN mocked at the SDK boundary, a real Postgres. */
const db = await createTestDatabase();
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:sender-sync';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:sender-sync:manual-1';
const sfn = mockClient(SFNClient);
let output: string[];
let errors: string[];

beforeAll(() => {
  vi.stubEnv('DATABASE_URL', db.url);
});

function captureOutput() {
  output = [];
  errors = [];
  vi.spyOn(console, 'log').mockImplementation((...args) => void output.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args) => void errors.push(args.join(' ')));
}

afterEach(() => {
  vi.restoreAllMocks();
  sfn.reset();
  process.exitCode = 0;
});

describe('sender-sync trigger', () => {
  it('starts an execution with the workspaces given and prints its console link', async () => {
    captureOutput();
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    await triggerCommand({ stateMachineArn: STATE_MACHINE, workspaces: 'Acme Outbound, Juniper Health' });
    const [call] = sfn.commandCalls(StartExecutionCommand);
    expect(call.args[0].input).toMatchObject({ stateMachineArn: STATE_MACHINE });
    expect(JSON.parse(call.args[0].input.input!)).toEqual({ workspaces: ['Acme Outbound', 'Juniper Health'], triggerSource: 'cli' });
    expect(output).toContain(`started ${EXECUTION}`);
    expect(output).toContain(
      `console: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION}`,
    );
    expect(executionConsoleUrl(EXECUTION)).toContain('eu-west-1');
  });

  it('with --wait follows the execution to its end and exits with the job status code', async () => {
    const [job] = await db.sql`
      insert into polling_job_status (job_name, execution_arn, total_workspaces) values ('sender-emails-sync', ${EXECUTION}, 1) returning id`;
    const [ws] =
      await db.sql`insert into workspaces (name, base_url, api_key_ref) values ('Acme Outbound', 'https://x.example', 'env:K') returning id`;
    await db.sql`insert into polling_job_workspaces (job_id, workspace_id, workspace_name) values (${job.id}, ${ws.id}, 'Acme Outbound')`;
    captureOutput();
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION });
    let looks = 0;
    sfn.on(DescribeExecutionCommand).callsFake(async () => {
      looks += 1;
      if (looks === 2) {
        await db.sql`update polling_job_workspaces set status = 'synced', accounts_synced = 187 where job_id = ${job.id}`;
        await db.sql`update polling_job_status set status = 'partial', completed_at = now(), workspaces_processed = 0, warnings = '{"Acme Outbound: nothing marked removed: x"}' where id = ${job.id}`;
        return { status: 'SUCCEEDED', executionArn: EXECUTION };
      }
      return { status: 'RUNNING', executionArn: EXECUTION };
    });
    await triggerCommand({ stateMachineArn: STATE_MACHINE, wait: true, intervalSeconds: 0.05 });
    expect(output).toContain('RUNNING: 0/1 workspaces done, 0 accounts');
    expect(output.join('\n')).toMatch(/status\s+partial/);
    expect(output.join('\n')).toMatch(/execution status\s+SUCCEEDED/);
    expect(process.exitCode).toBe(2);
  });

  it("calls Step Functions in the state machine ARN's region, with no AWS_REGION set", async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    captureOutput();
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION });
    await triggerCommand({ stateMachineArn: STATE_MACHINE });
    const [call] = sfn.commandCalls(StartExecutionCommand);
    expect(await (call.thisValue as SFNClient).config.region()).toBe('eu-west-1');
    expect(process.exitCode ?? 0).toBe(0);
    vi.unstubAllEnvs();
    vi.stubEnv('DATABASE_URL', db.url);
  });

  it('with --wait and no stack database configured follows the execution alone (never the embedded Postgres)', async () => {
    vi.stubEnv('DATABASE_URL', undefined);
    vi.stubEnv('DATABASE_SECRET_ARN', undefined);
    captureOutput();
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION });
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXECUTION })
      .resolvesOnce({ status: 'RUNNING', executionArn: EXECUTION })
      .resolves({ status: 'FAILED', executionArn: EXECUTION, error: 'States.TaskFailed', stopDate: new Date() });
    await triggerCommand({ stateMachineArn: STATE_MACHINE, wait: true, intervalSeconds: 0.05, json: true });
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
    expect(errors).toContain(
      "job row: not shown (set DATABASE_URL or DATABASE_SECRET_ARN to the stack's database); following the execution only",
    );
    expect(errors.join('\n')).not.toContain('database:');
    // --json: the one JSON value on stdout; progress on stderr.
    expect(output).toHaveLength(1);
    expect(JSON.parse(output[0])).toMatchObject({
      execution_arn: EXECUTION,
      execution: { status: 'FAILED', error: 'States.TaskFailed' },
      job: null,
      workspaces: [],
    });
    expect(errors).toContain('RUNNING');
    expect(process.exitCode).toBe(3);
    vi.stubEnv('DATABASE_URL', db.url);
  });

  it("with --wait and no stack database takes a SUCCEEDED execution's job from its output: partial exits 2", async () => {
    vi.stubEnv('DATABASE_URL', undefined);
    captureOutput();
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION });
    const job = { jobId: 'f1d2', status: 'partial', workspacesSynced: 25, totalWorkspaces: 26, totalAccountsSynced: 3963 };
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', executionArn: EXECUTION, output: JSON.stringify(job) });
    await triggerCommand({ stateMachineArn: STATE_MACHINE, wait: true, intervalSeconds: 0.05 });
    expect(output.at(-1)).toBe(
      "execution SUCCEEDED: job f1d2 partial: 25/26 workspaces synced, 3963 accounts (from the execution's output; the stack's database would show its workspaces)",
    );
    expect(process.exitCode).toBe(2);
    vi.stubEnv('DATABASE_URL', db.url);
  });

  it('`status` shows the execution status read from Step Functions for an AWS run', async () => {
    captureOutput();
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).resolves({ status: 'SUCCEEDED', executionArn: EXECUTION });
    await statusCommand(undefined, {});
    expect(output.join('\n')).toMatch(/execution status\s+SUCCEEDED/);
  });
});
