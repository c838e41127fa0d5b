import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/build-app';
import { TASKS, TASK_NAMES, type TaskHandlers, type TaskName } from '../../lambdas/tasks';
import { deliveryPath } from '../../lambdas/webhooks/token';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { startEmailBisonSim, type EmailBisonSim } from '../../sim/server';
import { TASK_OF_STATE } from '../../state-machine/definition';
import { runStateMachineLocally, type LocalRunResult } from '../../state-machine/local-runner';
import { LOCAL_STATE_MACHINE_ARN } from '../../state-machine/synthesize';
import { atFileEnd, tempDir } from '../helpers/cleanup';
import { createEmptyDatabase, type TestDatabase } from '../helpers/database';
import { REHEARSAL_REGION, synthesizeStack, type SynthesizedFunction, type SynthesizedStack } from './cloud-assembly';
import { createLambdaService, createSandbox, findNode22, type LambdaService, type Sandbox } from './lambda-sandbox';
import { startSecretsManager, type SecretsManagerStandIn } from './secrets-manager';
import { startSqs, type SqsStandIn } from './sqs';

/*
 * The deploy rehearsal: the stack synthesized as `cdk synth` does, each cdk.out bundle run
 * on Node 22 in a task root of its own with only the runtime's AWS SDK beside it and the
 * environment the template gives it, Secrets Manager served locally, and the synthesized
 * state machine run over those bundles (not the TypeScript sources) against the simulator
 * and a real Postgres: migrate, a full run, a partial run, and mark-failed fed the
 * EventBridge event of an execution that ended without recording its result.
 */

const node22 = findNode22();
const ASL_VALIDATOR_BIN = path.join(PROJECT_ROOT, 'node_modules', 'asl-validator', 'dist', 'bin', 'asl-validator.js');
const ASL_VALIDATOR_VERSION = (createRequire(import.meta.url)('asl-validator/package.json') as { version: string }).version;
const REVOKED_WORKSPACE = 'Dunmore Legal';
const PARTIAL_RUN_WORKSPACES = ['Acme Outbound', REVOKED_WORKSPACE, 'Vértice Labs'];
/** Accounts the rehearsal's bad day disconnects (each delivered twice), as the mass-disconnection fault scenario does. */
const BAD_DAY_ACCOUNTS = 2_000;

let stack: SynthesizedStack;
let sandbox: Sandbox;
let db: TestDatabase;
let sim: EmailBisonSim;
let secretsManager: SecretsManagerStandIn;
let sqs: SqsStandIn;
let services: Map<string, LambdaService>;
let databasePassword: string;
/** The webhook receiver's token, as the stack's generated secret would hold it. */
const WEBHOOK_SECRET = `rehearsal-webhook-secret-${Math.random().toString(36).slice(2)}`;
let inFlight = 0;
const tally = { completed: 0, partial: 0, markFailed: 0, aslValidator: 'not run' };
const startedAt = Date.now();

/** The function CDK made for a task (its construct id names it; lambdas/tasks.ts). */
function functionOf(constructId: string): SynthesizedFunction {
  const fn = stack.functions.find((candidate) => candidate.constructPath.split('/').at(-2) === constructId);
  if (!fn) throw new Error(`No function with construct id ${constructId} in the template`);
  return fn;
}

function service(constructId: string): LambdaService {
  return services.get(functionOf(constructId).logicalId)!;
}

/** What each Task state calls: the task's bundle, through the runtime shim; an error reaches Retry/Catch by its errorType. */
function bundleHandlers(): TaskHandlers {
  const handler = (task: TaskName) => async (event: unknown) => {
    inFlight += 1;
    const outcome = await service(TASKS[task].constructId)
      .invoke(event)
      .finally(() => (inFlight -= 1));
    if (outcome.ok) return outcome.result;
    throw Object.assign(new Error(outcome.errorMessage), { name: outcome.errorType });
  };
  return Object.fromEntries(TASK_NAMES.map((task) => [task, handler(task)])) as TaskHandlers;
}

function runDeployed(
  input: unknown,
  options: { signal?: AbortSignal; onEvent?: Parameters<typeof runStateMachineLocally>[0]['onEvent'] } = {},
): Promise<LocalRunResult> {
  return runStateMachineLocally({ input, handlers: bundleHandlers(), definition: stack.definition, instantRetries: true, ...options });
}

async function jobOf(executionArn: string) {
  const [job] = await db.sql<
    { id: string; status: string; total_workspaces: number; total_accounts_synced: number; error_message: string | null }[]
  >`
    select id, status, total_workspaces, total_accounts_synced, error_message from polling_job_status where execution_arn = ${executionArn}
  `;
  return job;
}

beforeAll(async () => {
  if (!node22.found)
    throw new Error(`The deploy rehearsal runs the bundles on Node 22, the Lambdas' runtime, and found none: ${node22.reason}.`);
  // No request cap: the simulator is no shared instance (the template then carries EMAILBISON_MAX_RPS=0).
  // The intake queue's URL (its Ref) points at the SQS stand-in, as a deployed one points at SQS.
  sqs = await startSqs();
  atFileEnd(() => sqs.close());
  stack = synthesizeStack(
    tempDir('ss-rehearsal-cdk-'),
    { 'sender-sync:emailbisonMaxRps': 0 },
    { queueUrl: (logicalId) => sqs.queueUrl(logicalId) },
  );
  // Outside the repository (the test run's TMPDIR), so nothing resolves from the project's node_modules.
  sandbox = createSandbox(tempDir('ss-rehearsal-lambda-'), stack.functions, PROJECT_ROOT);
  db = await createEmptyDatabase();
  sim = await startEmailBisonSim({ scenario: 'seed-2025' });
  atFileEnd(() => sim.close());

  const databaseUrl = new URL(db.url);
  // Trust auth ignores the password; the secret's shape requires one, and the logs must never show it.
  databasePassword = decodeURIComponent(databaseUrl.password) || `rehearsal-password-${Math.random().toString(36).slice(2)}`;
  const databaseSecretArn = functionOf('Migrate').environment.DATABASE_SECRET_ARN;
  const apiKeysSecretArn = functionOf(TASKS.syncWorkspace.constructId).environment.API_KEYS_SECRET_ARN;
  secretsManager = await startSecretsManager([
    {
      arn: databaseSecretArn,
      name: 'sender-sync/database',
      value: JSON.stringify({
        host: databaseUrl.hostname,
        port: Number(databaseUrl.port || 5432),
        username: decodeURIComponent(databaseUrl.username) || 'postgres',
        password: databasePassword,
        dbname: db.name,
      }),
    },
    {
      arn: functionOf('WebhookReceiver').environment.WEBHOOK_SECRET_ARN,
      name: 'sender-sync/webhook-secret',
      value: WEBHOOK_SECRET,
    },
    {
      arn: apiKeysSecretArn,
      name: 'sender-sync/api-keys',
      value: JSON.stringify(Object.fromEntries(sim.workspaces().map((w) => [w.name, w.apiKey]))),
    },
  ]);
  atFileEnd(() => secretsManager.close());

  services = new Map(
    stack.functions.map((fn) => [
      fn.logicalId,
      createLambdaService(fn, {
        node: node22.path,
        sandbox,
        environment: {
          AWS_REGION: REHEARSAL_REGION,
          AWS_DEFAULT_REGION: REHEARSAL_REGION,
          AWS_ACCESS_KEY_ID: 'AKIAREHEARSAL0000000',
          AWS_SECRET_ACCESS_KEY: 'rehearsal-secret-access-key',
          AWS_SESSION_TOKEN: 'rehearsal-session-token',
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
          // No SNS here: a publish (the digest, the webhooks' news) fails at once and is logged, as when SNS refuses it.
          AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:9',
        },
      }),
    ]),
  );
  atFileEnd(() => Promise.all([...services.values()].map((s) => s.close())));
}, 120_000);

afterAll(() => {
  const ran = [...(services?.values() ?? [])].filter((s) => s.invocations > 0);
  const versions = [...new Set(ran.flatMap((s) => [...s.nodeVersions]))].join(', ') || 'none';
  console.log(
    `rehearsal: ${ran.length} bundles run on Node ${versions}, runs completed ${tally.completed}, partial ${tally.partial}, ` +
      `mark-failed handled ${tally.markFailed}, asl-validator ${tally.aslValidator} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
  );
});

describe('deploy rehearsal', () => {
  it('gives each function only its asset, with the runtime SDK resolvable and the project’s packages not', () => {
    expect(stack.functions.map((fn) => fn.constructPath.split('/').at(-2)).sort()).toEqual(
      [...TASK_NAMES.map((task) => TASKS[task].constructId), 'Migrate', 'WebhookReceiver', 'WebhookApplier'].sort(),
    );
    for (const fn of stack.functions) {
      expect(fn.runtime, fn.logicalId).toBe('nodejs22.x');
      const root = sandbox.taskRoot(fn);
      const expected = fn === functionOf('Migrate') ? ['index.mjs', 'index.mjs.map', 'migrations'] : ['index.mjs', 'index.mjs.map'];
      expect(readdirSync(root).sort(), fn.logicalId).toEqual(expected);
      const resolveFrom = createRequire(path.join(root, 'index.mjs'));
      expect(resolveFrom.resolve('@aws-sdk/client-secrets-manager').startsWith(sandbox.nodeModules)).toBe(true);
      for (const projectOnly of ['postgres', 'zod', 'undici', '@aws-lambda-powertools/logger']) {
        expect(() => resolveFrom.resolve(projectOnly), `${projectOnly} from ${fn.logicalId}`).toThrow(/Cannot find module/);
      }
    }
  });

  it('wires each Task state to the function of its task, and passes asl-validator', () => {
    const taskStates: [string, Record<string, unknown>][] = [];
    const collect = (states: Record<string, Record<string, unknown>>) => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Task') taskStates.push([name, state]);
        const processor = state.ItemProcessor as { States: Record<string, Record<string, unknown>> } | undefined;
        if (processor) collect(processor.States);
      }
    };
    collect(stack.definition.States);
    expect(taskStates.map(([name]) => name).sort()).toEqual(Object.keys(TASK_OF_STATE).sort());
    for (const [name, state] of taskStates) {
      const functionName = (state.Parameters as { FunctionName: string }).FunctionName;
      expect(functionName, name).toBe(functionOf(TASKS[TASK_OF_STATE[name]].constructId).functionArn);
    }

    // The runner embeds an older asl-validator and skips checks AWS makes; this one is pinned on its own.
    const file = path.join(tempDir('ss-rehearsal-asl-'), 'definition.json');
    writeFileSync(file, JSON.stringify(stack.definition));
    let output = '';
    try {
      output = execFileSync(node22.found ? node22.path : process.execPath, [ASL_VALIDATOR_BIN, '--json-path', file], { encoding: 'utf8' });
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      throw new Error(
        `asl-validator ${ASL_VALIDATOR_VERSION} refuses the synthesized definition:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`,
      );
    }
    expect(output).toMatch(/is valid/);
    tally.aslValidator = `ok (${ASL_VALIDATOR_VERSION})`;
  });

  it('migrates the empty database from the SQL the Migrate bundle ships', async () => {
    const outcome = await service('Migrate').invoke({ RequestType: 'Create' });
    expect(outcome).toMatchObject({ ok: true });
    const { applied, alreadyApplied } = (outcome as { result: { applied: string[]; alreadyApplied: number } }).result;
    expect(alreadyApplied).toBe(0);
    expect(applied.length).toBe(readdirSync(path.join(PROJECT_ROOT, 'migrations')).filter((file) => file.endsWith('.sql')).length);
    for (const workspace of sim.workspaces()) {
      await upsertWorkspace(db.sql, {
        name: workspace.name,
        baseUrl: sim.url,
        apiKeyRef: `aws-sm:${functionOf(TASKS.syncWorkspace.constructId).environment.API_KEYS_SECRET_ARN}#${workspace.name}`,
        emailbisonWorkspaceId: workspace.id,
      });
    }
    const secretCalls = secretsManager.requests.filter((request) => request.target === 'secretsmanager.GetSecretValue');
    expect(secretCalls.length).toBeGreaterThan(0);
    // Signed with the credentials the environment gives, for the region the environment gives.
    expect(secretCalls[0].credential).toMatch(new RegExp(`^AKIAREHEARSAL0000000/\\d{8}/${REHEARSAL_REGION}/secretsmanager/aws4_request$`));
  });

  it('completes a full run over every workspace', async () => {
    const result = await runDeployed({});
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const job = await jobOf(result.executionArn);
    const workspaces = sim.workspaces();
    expect(job).toMatchObject({ status: 'completed', total_workspaces: workspaces.length });
    expect(job.total_accounts_synced).toBe(workspaces.reduce((sum, w) => sum + w.total, 0));
    const stored = await db.sql<{ name: string; live: number }[]>`
      select w.name, count(se.*) filter (where se.deleted_at is null)::int as live
      from workspaces w left join sender_emails se on se.workspace_id = w.id group by w.name
    `;
    expect(Object.fromEntries(stored.map((row) => [row.name, row.live]))).toEqual(
      Object.fromEntries(workspaces.map((w) => [w.name, w.total])),
    );
    tally.completed += 1;
  });

  it('ends a run partial when one workspace’s key is rejected, the others synced', async () => {
    sim.revokeKey(sim.workspaces().find((w) => w.name === REVOKED_WORKSPACE)!.apiKey);
    const result = await runDeployed({ workspaces: PARTIAL_RUN_WORKSPACES });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const job = await jobOf(result.executionArn);
    expect(job.status).toBe('partial');
    const rows = await db.sql<{ workspace_name: string; status: string; error: string | null }[]>`
      select workspace_name, status, error from polling_job_workspaces where job_id = ${job.id} order by workspace_name
    `;
    expect(rows.map((row) => [row.workspace_name, row.status])).toEqual(
      PARTIAL_RUN_WORKSPACES.map((name) => [name, name === REVOKED_WORKSPACE ? 'failed' : 'synced']).sort(),
    );
    expect(rows.find((row) => row.workspace_name === REVOKED_WORKSPACE)?.error).toMatch(/RejectedApiKeyError/);
    // Not retried: the bundle's error type matched the definition's no-retry list.
    const retried = result.events.filter((event) => event.type === 'StateRetried');
    expect(retried).toEqual([]);
    tally.partial += 1;
  });

  it('marks failed the job of an execution aborted mid-run, from its EventBridge status-change event', async () => {
    const abort = new AbortController();
    const result = await runDeployed(
      { workspaces: ['Acme Outbound', 'Brightwave Capital'] },
      {
        signal: abort.signal,
        onEvent: (event) => {
          if (event.type === 'StateEntered' && (event.state as { name: string }).name === 'Sync each workspace') abort.abort();
        },
      },
    );
    expect(result.status).toBe('ABORTED');
    // Step Functions does not stop the Lambdas an aborted execution started: let them finish first.
    while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await jobOf(result.executionArn)).status).toBe('running');

    // The event as Step Functions sends it (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html).
    const [, , , region, account] = result.executionArn.split(':');
    const event = {
      version: '0',
      id: '315c1398-40ff-a850-213b-158f73e60175',
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account,
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      region,
      resources: [result.executionArn],
      detail: {
        executionArn: result.executionArn,
        stateMachineArn: LOCAL_STATE_MACHINE_ARN,
        name: result.executionArn.split(':').at(-1),
        status: 'ABORTED',
        startDate: startedAt,
        stopDate: Date.now(),
        input: JSON.stringify({ workspaces: ['Acme Outbound', 'Brightwave Capital'] }),
        inputDetails: { included: true },
        output: null,
        outputDetails: null,
        error: null,
        cause: null,
      },
    };
    const outcome = await service(TASKS.markFailed.constructId).invoke(event);
    expect(outcome).toMatchObject({ ok: true, result: { recorded: true, status: 'failed' } });
    const job = await jobOf(result.executionArn);
    expect(job.status).toBe('failed');
    expect(job.error_message).toMatch(/ABORTED/);
    tally.markFailed += 1;
  });

  it('queues webhook deliveries through the receiver bundle (no database), and the applier bundle applies them from the SQS event', async () => {
    const accounts = await db.sql<{ workspace_id: number; emailbison_id: string; email: string; emailbison_workspace_id: number }[]>`
      select se.workspace_id, se.emailbison_id::text, se.email, w.emailbison_workspace_id::int as emailbison_workspace_id
      from sender_emails se join workspaces w on w.id = se.workspace_id
      where se.status = 'Connected' and se.deleted_at is null and w.emailbison_workspace_id is not null order by se.id limit ${BAD_DAY_ACCOUNTS}
    `;
    const urlEvent = (secret: string, account: (typeof accounts)[number]) => {
      const rawPath = deliveryPath(secret, { workspaceId: account.workspace_id, emailbisonWorkspaceId: account.emailbison_workspace_id });
      const body = JSON.stringify({
        event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', name: 'Email Account Disconnected', workspace_id: account.emailbison_workspace_id },
        data: { sender_email: { id: Number(account.emailbison_id), email: account.email, status: 'Not connected' } },
      });
      return {
        version: '2.0',
        routeKey: '$default',
        rawPath,
        rawQueryString: '',
        headers: { 'content-type': 'application/json' },
        requestContext: { http: { method: 'POST', path: rawPath } },
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
      };
    };
    const receiver = service('WebhookReceiver');
    // The bad day: 2,000 disconnections, each delivered twice, 8 receiver containers at a time (each is a Node process here).
    expect(accounts).toHaveLength(BAD_DAY_ACCOUNTS);
    const events = accounts.flatMap((account) => [urlEvent(WEBHOOK_SECRET, account), urlEvent(WEBHOOK_SECRET, account)]);
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < events.length) {
          const event = events[next++];
          const started = performance.now();
          const answer = await receiver.invoke(event);
          latencies.push(performance.now() - started);
          expect(answer).toMatchObject({ ok: true, result: { statusCode: 200 } });
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.ceil(0.99 * latencies.length) - 1];
    // A token made with another secret opens nothing.
    expect(await receiver.invoke(urlEvent(`${WEBHOOK_SECRET}x`, accounts[0]))).toMatchObject({ ok: true, result: { statusCode: 404 } });
    const queued = sqs.take();
    expect(queued).toHaveLength(events.length);
    expect(receiver.logs()).not.toContain(WEBHOOK_SECRET);
    for (const event of events.slice(0, 10)) expect(receiver.logs()).not.toContain(event.rawPath.split('/').pop());
    // The receiver's environment names no database: it never opened one.
    expect(Object.keys(functionOf('WebhookReceiver').environment).filter((name) => name.startsWith('DATABASE_'))).toEqual([]);

    // The event source mapping: batches of 10, at most 2 applier invocations at once; the connections counted meanwhile.
    const applier = service('WebhookApplier');
    const lambdaConnections = async () => {
      const [{ n }] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'sender-sync:webhook'
      `;
      return n;
    };
    const connectionsBefore = await lambdaConnections();
    let peakConnections = connectionsBefore;
    let applying = true;
    const sampling = (async () => {
      while (applying) {
        peakConnections = Math.max(peakConnections, await lambdaConnections());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const applyStarted = performance.now();
    const batches: (typeof queued)[] = [];
    for (let i = 0; i < queued.length; i += 10) batches.push(queued.slice(i, i + 10));
    const sqsRecord = (message: (typeof queued)[number]) => ({
      messageId: message.messageId,
      receiptHandle: message.messageId,
      body: message.body,
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REHEARSAL_REGION}:123456789012:WebhooksIntake`,
      awsRegion: REHEARSAL_REGION,
    });
    for (let i = 0; i < batches.length; i += 2) {
      const outcomes = await Promise.all(batches.slice(i, i + 2).map((batch) => applier.invoke({ Records: batch.map(sqsRecord) })));
      for (const outcome of outcomes) expect(outcome).toEqual({ ok: true, result: { batchItemFailures: [] } });
    }
    const applyMs = performance.now() - applyStarted;
    applying = false;
    await sampling;
    console.log(
      `rehearsal bad day: ${events.length} deliveries through the receiver bundle (8 at a time), p99 ${p99.toFixed(0)} ms; ` +
        `${batches.length} SQS batches applied by the applier bundle (2 at a time) in ${Math.round(applyMs)} ms; ` +
        `Lambda connections ${connectionsBefore} before, ${peakConnections} at most while applying; applier containers ${applier.coldStarts}`,
    );
    expect(p99).toBeLessThan(1000);
    // The receivers opened none; the appliers at most one each, two at once.
    expect(applier.coldStarts).toBeLessThanOrEqual(2);
    // The applier's pool is the 'webhook' part (its application_name): seen while applying, two at most.
    expect(peakConnections).toBeGreaterThan(0);
    expect(peakConnections).toBeLessThanOrEqual(2);
    const [{ disconnected, rows }] = await db.sql<{ disconnected: number; rows: number }[]>`
      select
        (select count(*)::int from sender_emails se where se.status = 'Not connected'
           and (se.workspace_id, se.emailbison_id) in (select workspace_id, emailbison_id from sender_email_changes where source = 'webhook')) as disconnected,
        (select count(*)::int from sender_email_changes where source = 'webhook' and field = 'status') as rows
    `;
    expect({ disconnected, rows }).toEqual({ disconnected: accounts.length, rows: accounts.length });
    // Each workspace's digest was made due, and a delayed tick for it sent to the queue (SNS is not reachable here).
    const ticks = sqs.take().map((message) => JSON.parse(message.body));
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.every((tick) => tick.kind === 'tick' && Number.isInteger(tick.workspaceId))).toBe(true);
  });

  it('runs every bundle on Node 22, warm containers reused, no key or password in any log', () => {
    const keys = sim.workspaces().map((w) => w.apiKey);
    for (const s of services.values()) {
      expect(s.invocations, s.fn.logicalId).toBeGreaterThan(0);
      expect(
        [...s.nodeVersions].every((version) => version.startsWith('22.')),
        `${s.fn.logicalId} ran on ${[...s.nodeVersions]}`,
      ).toBe(true);
      const logs = s.logs();
      for (const secret of [databasePassword, WEBHOOK_SECRET, ...keys])
        expect(logs.includes(secret), `a secret in ${s.fn.logicalId}'s logs`).toBe(false);
    }
    const sync = service(TASKS.syncWorkspace.constructId);
    // The Map runs 3 iterations at once: at most a few containers, each serving many invocations.
    expect(sync.coldStarts).toBeLessThan(sync.invocations);
  });
});
