import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStale } from '../../../cli/bundle.mjs';
import { allCommands, commandPath, program, READ_COMMANDS } from '../../../cli/main';
import { localWebhookSecretFile } from '../../../local/webhook-secret';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { finish, startAwsStandIn, standInEnv, type AwsStandIn } from '../../helpers/aws-stand-in';
import { tempDir } from '../../helpers/cleanup';
import { cli, startCli, type CliResult } from '../../helpers/cli';
import { createEmptyDatabase } from '../../helpers/database';

/*
 * Issue 20 item 1: what users run. Every command of the program runs here from the built
 * bundle (dist/, through bin/sender-sync.mjs as a child process, as `sender-sync …` runs
 * it) against real parts: Postgres, the simulated EmailBison API over HTTP, and a local
 * stand-in of Step Functions and Secrets Manager speaking their JSON protocols, reached
 * through AWS_ENDPOINT_URL_* with fake credentials. A command added to the program
 * without a case here fails the last test.
 */
const SIM_ADMIN_KEY = 'bundle-admin-key-0123456789';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:sender-sync';
const KEYS_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync-api-keys-AbCdEf';

const db = await createEmptyDatabase();
const dir = tempDir('ss-bundle-');
const secretsFile = path.join(dir, 'secrets.json');
let sim: EmailBisonSim;
let aws: AwsStandIn;
let env: Record<string, string>;
const covered = new Set<string>();

/** A test of one command, run from the bundle; the command is counted as covered. */
function bundleTest(command: string, name: string, test: () => Promise<void>, timeoutMs?: number) {
  covered.add(command);
  it(`${command}: ${name}`, test, timeoutMs);
}

const json = (result: CliResult) => {
  expect(result.stderr.split('\n').filter((line) => line.startsWith('sender-sync:'))).toEqual([]);
  return JSON.parse(result.stdout);
};
const simWorkspace = (index: number) => sim.workspaces()[index];

beforeAll(async () => {
  sim = await startEmailBisonSim({ scenario: 'grid:4:6', adminKey: SIM_ADMIN_KEY });
  aws = await startAwsStandIn();
  env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: secretsFile, EMAILBISON_MAX_RPS: '0', ...standInEnv(aws) };
});
afterAll(async () => {
  await sim?.close();
  await aws?.close();
});

describe('the bundle', () => {
  it('is built from the sources as they are (the test setup rebuilds it when stale)', () => {
    expect(isStale()).toBe(false);
  });
});

describe('every command, from the bundle', () => {
  bundleTest('migrate', 'creates the schema on an empty database', async () => {
    const result = await cli(['migrate', '--json'], env);
    expect(result.code).toBe(0);
    expect(json(result).applied.length).toBeGreaterThan(5);
  });

  bundleTest('workspaces add', 'registers a workspace with its key from the environment, bound to its EmailBison workspace', async () => {
    const { name, apiKey, id } = simWorkspace(0);
    const result = await cli(['workspaces', 'add', name, '--base-url', sim.url, '--api-key-env', 'BUNDLE_KEY'], {
      ...env,
      BUNDLE_KEY: apiKey,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`workspace "${name}" saved`);
    expect(await db.sql`select emailbison_workspace_id::int as id from workspaces where name = ${name}`).toEqual([{ id }]);
  });

  bundleTest('workspaces add', 'reads a key kept in Secrets Manager (the SDK loaded on first use)', async () => {
    const { name, apiKey } = simWorkspace(1);
    aws.putSecret(KEYS_SECRET, JSON.stringify({ [name]: apiKey }));
    const result = await cli(['workspaces', 'add', name, '--base-url', sim.url, '--api-key-ref', `aws-sm:${KEYS_SECRET}#${name}`], env);
    expect(result.code).toBe(0);
    expect(aws.calls.filter((call) => call.target === 'secretsmanager.GetSecretValue')).not.toHaveLength(0);
    expect(aws.calls.at(-1)?.credential).toMatch(/^AKIASTANDIN000000000\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request$/);
  });

  bundleTest('workspaces import', 'registers the workspaces of a CSV', async () => {
    const { name, apiKey, id } = simWorkspace(2);
    const csv = path.join(dir, 'workspaces.csv');
    writeFileSync(csv, `name,base_url,api_key,emailbison_workspace_id\n${name},${sim.url},${apiKey},${id}\n`);
    const result = await cli(['workspaces', 'import', csv, '--json'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(name);
  });

  bundleTest('workspaces discover', "lists the instance's workspaces with the super-admin key (dry run)", async () => {
    const result = await cli(['workspaces', 'discover', '--base-url', sim.url, '--json'], env, `${SIM_ADMIN_KEY}\n`);
    expect(result.code).toBe(0);
    const { dry_run, workspaces } = json(result);
    expect(dry_run).toBe(true);
    expect(workspaces.map((w: { name: string }) => w.name).sort()).toEqual(
      sim
        .workspaces()
        .map((w) => w.name)
        .sort(),
    );
  });

  bundleTest('workspaces list', 'lists the three registered', async () => {
    const result = await cli(['workspaces', 'list', '--json'], env);
    expect(result.code).toBe(0);
    expect(json(result).map((w: { name: string }) => w.name)).toHaveLength(3);
  });

  bundleTest('check-keys', 'finds every key OK, the Secrets Manager one included', async () => {
    const result = await cli(['check-keys', '--json'], env);
    expect(result.code).toBe(0);
    const { keys } = json(result);
    expect(keys.map((k: { result: string }) => k.result)).toEqual(['ok', 'ok', 'ok']);
  });

  // First: serve creates the local webhook secret (beside the secrets file) that url and register read.
  bundleTest('webhooks serve', 'listens, prints its base URL and the url command, and stops on SIGTERM', async () => {
    const { child, result } = startCli(['webhooks', 'serve', '--port', '0'], env);
    let printed = '';
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk) => {
        printed += chunk;
        if (printed.split('\n').length > 2) resolve();
      });
    });
    expect(printed).toMatch(/^(http:\/\/127\.0\.0\.1:\d+)\nsender-sync webhooks url --base \1\n$/);
    const guess = await fetch(`${printed.split('\n')[0]}/emailbison/1/1/wrong-token`, { method: 'POST', body: '{}' });
    expect(guess.status).toBe(404);
    child.kill('SIGTERM');
    expect((await result).code).toBe(0);
  });

  bundleTest('webhooks url', "prints each workspace's own delivery URL", async () => {
    const result = await cli(['webhooks', 'url', '--base', 'http://127.0.0.1:9', '--json'], env);
    expect(result.code).toBe(0);
    const urls = json(result) as { name: string; url: string }[];
    expect(urls).toHaveLength(3);
    for (const { url } of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:9\/emailbison\/\d+\/\d+\/[\w-]{43}$/);
  });

  bundleTest('webhooks register', "creates each workspace's subscription, with its own URL", async () => {
    const result = await cli(['webhooks', 'register', '--url', 'http://127.0.0.1:9', '--json'], env);
    expect(result.code).toBe(0);
    expect(json(result).registered.map((r: { outcome: string }) => r.outcome)).toEqual(['created', 'created', 'created']);
  });

  bundleTest('webhooks list', 'shows the subscriptions with the token hidden', async () => {
    const result = await cli(['webhooks', 'list', '--json'], env);
    expect(result.code).toBe(0);
    expect(json(result).subscriptions).toHaveLength(3);
    const urls = json(await cli(['webhooks', 'url', '--base', 'http://127.0.0.1:9', '--json'], env)) as { url: string }[];
    for (const { url } of urls) expect(result.stdout).not.toContain(url.split('/').pop());
    expect(result.stdout).not.toContain(readFileSync(localWebhookSecretFile(secretsFile), 'utf8').trim());
  });

  bundleTest('psql', 'runs psql on the database the CLI reads, the password never on its command line', async () => {
    const result = await cli(['psql', '-At', '-c', 'select count(*) from workspaces'], env);
    expect(result).toMatchObject({ code: 0, stdout: '3\n' });
    expect(result.stderr).toBe(`database: 127.0.0.1:5432/${db.name}\n`);
  });

  bundleTest('workspaces remove', 'deactivates a workspace', async () => {
    // The CSV one: the run below then reads one key from the secrets file and one from Secrets Manager.
    const result = await cli(['workspaces', 'remove', simWorkspace(2).name], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('deactivated');
  });

  bundleTest(
    'run',
    'syncs the registered workspaces through the state machine',
    async () => {
      const secretReads = () => aws.calls.filter((call) => call.target === 'secretsmanager.GetSecretValue').length;
      const before = secretReads();
      const result = await cli(['run', '--json'], env);
      expect(result.code).toBe(0);
      const { status, job } = json(result);
      expect(status).toBe('completed');
      expect(job.total_accounts_synced).toBe(12);
      // The aws-sm: key reference is read as the Lambdas read it.
      expect(secretReads()).toBeGreaterThan(before);
    },
    120_000,
  );

  bundleTest('status', "shows the local run's job", async () => {
    const result = await cli(['status', '--json'], env);
    expect(result.code).toBe(0);
    expect(json(result)).toMatchObject({
      job: { status: 'completed', total_workspaces: 2 },
      execution: { status: null, unavailable: 'local run (no AWS execution)' },
    });
  });

  bundleTest('jobs', 'lists the job', async () => {
    expect(json(await cli(['jobs', '--json'], env)).jobs).toHaveLength(1);
  });

  bundleTest('accounts', 'counts the live accounts', async () => {
    expect(json(await cli(['accounts', '--json'], env)).totals).toEqual({ workspaces: 2, live: 12, removed: 0 });
  });

  bundleTest('missing', 'finds no workspace without accounts', async () => {
    expect(json(await cli(['missing', '--json'], env))).toEqual({ workspaces: [] });
  });

  bundleTest('changes', 'lists the changes of the last 24 hours', async () => {
    const result = await cli(['changes', '--json'], env);
    expect(result.code).toBe(0);
    expect(json(result)).toMatchObject({ since: '24h', changes: expect.any(Array) });
  });

  bundleTest(
    'compat install',
    "refuses, naming it, a relation of the dashboard's that is not sender-sync's: exit 2, nothing changed",
    async () => {
      await db.sql`create table email_accounts_raw (id int)`;
      const result = await cli(['compat', 'install', '--json'], env);
      expect(result.code).toBe(2);
      const { status, reason } = JSON.parse(result.stdout);
      expect(status).toBe('refused');
      expect(reason).toContain('table public.email_accounts_raw');
      expect(await db.sql`select to_regclass('email_accounts_view') as view`).toEqual([{ view: null }]);
    },
  );

  bundleTest('compat install', 'with --rename-legacy keeps the legacy table as legacy_email_accounts_raw and installs', async () => {
    const result = await cli(['compat', 'install', '--rename-legacy'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('renamed table public.email_accounts_raw to public.legacy_email_accounts_raw');
    expect(result.stderr).toContain('JOB_NAME is "sender-emails-sync"');
    const [{ n }] = await db.sql`select count(*)::int as n from email_accounts_view`;
    expect(n).toBe(12);
    const again = await cli(['compat', 'install', '--json'], env);
    expect(json(again)).toMatchObject({ status: 'unchanged', schema: 'public' });
  });

  bundleTest('compat status', 'lists what is installed, the rules and the job-name warning', async () => {
    const result = await cli(['compat', 'status', '--json'], env);
    expect(result.code).toBe(0);
    const status = json(result);
    expect(status).toMatchObject({ installed: true, complete: true, schema: 'public', job_name: { matches: false } });
    expect(status.legacy.map((o: { name: string }) => o.name)).toEqual(['legacy_email_accounts_raw']);
    expect(status.pricing_rules).toHaveLength(6);
    const matching = await cli(['compat', 'status'], { ...env, JOB_NAME: 'poll-sender-emails' });
    expect(matching.stderr).not.toContain('warning');
    expect(matching.stdout).toContain('installed in schema public');
  });

  bundleTest('compat pricing list', 'prints the rules, first match wins', async () => {
    const { rules } = json(await cli(['compat', 'pricing', 'list', '--json'], env));
    expect(rules.map((r: { pattern: string }) => r.pattern)).toEqual(['cheapinboxes', 'zapmail', 'mailr', 'scaledmail', 'google', 'gmail']);
  });

  bundleTest('compat pricing set', "changes a rule's price, and an account's own price", async () => {
    const { rules } = json(await cli(['compat', 'pricing', 'set', '--rule', '20', '--price', '3.50', '--json'], env));
    expect(rules.find((r: { position: number }) => r.position === 20).price).toBe('3.50');
    const [account] = await db.sql<{ email: string }[]>`select email from sender_emails order by id limit 1`;
    const set = await cli(['compat', 'pricing', 'set', '--account', account.email, '--price', '4.20'], env);
    expect(set.code).toBe(0);
    expect(await db.sql`select price, price_source from email_accounts_view where email_address = ${account.email}`).toEqual([
      { price: '4.20', price_source: 'manual' },
    ]);
    const bad = await cli(['compat', 'pricing', 'set', '--rule', '20', '--price', 'cheap'], env);
    expect(bad.code).toBe(64);
  });

  bundleTest('compat uninstall', "removes what install created, leaving legacy_* and sender-sync's tables", async () => {
    const result = await cli(['compat', 'uninstall', '--json'], env);
    expect(result.code).toBe(0);
    expect(json(result).schemas).toEqual(['public']);
    expect(
      await db.sql`select to_regclass('email_accounts_view') as view, to_regclass('legacy_email_accounts_raw')::text as legacy`,
    ).toEqual([{ view: null, legacy: 'legacy_email_accounts_raw' }]);
    await db.sql`drop table legacy_email_accounts_raw`;
  });
});

describe('trigger and status against the Step Functions stand-in (AWS_ENDPOINT_URL_SFN, fake credentials)', () => {
  const awsOnly = () => ({ ...standInEnv(aws), SENDER_SYNC_SECRETS_FILE: secretsFile, STATE_MACHINE_ARN: STATE_MACHINE });

  bundleTest('trigger', 'starts an execution: exit 0, its ARN and console link printed', async () => {
    const result = await cli(['trigger', '--workspaces', 'Acme Outbound'], awsOnly());
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [started] = [...aws.executions.values()].slice(-1);
    expect(started.stateMachineArn).toBe(STATE_MACHINE);
    expect(JSON.parse(started.input)).toEqual({ workspaces: ['Acme Outbound'], triggerSource: 'cli' });
    expect(result.stdout).toBe(
      `started ${started.executionArn}\n` +
        `console: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${started.executionArn}\n`,
    );
    const call = aws.calls.findLast((c) => c.target === 'AWSStepFunctions.StartExecution');
    expect(call?.credential).toMatch(/^AKIASTANDIN000000000\/\d{8}\/eu-west-1\/states\/aws4_request$/);
  });

  bundleTest('trigger', '--wait follows the execution to SUCCEEDED and exits 0', async () => {
    aws.onDescribe((execution) => {
      if (execution.looks === 3) finish(execution, { status: 'SUCCEEDED' });
    });
    const result = await cli(['trigger', '--wait', '--interval-seconds', '0.1'], awsOnly());
    const [execution] = [...aws.executions.values()].slice(-1);
    expect(execution.looks).toBe(3);
    expect(result.stdout).toContain(`started ${execution.executionArn}`);
    expect(result.stdout).toContain('RUNNING');
    expect(result.stdout.trim().split('\n').at(-1)).toBe('execution SUCCEEDED');
    expect(result.code).toBe(0);
  });

  bundleTest('trigger', '--wait follows the execution to FAILED and exits 3', async () => {
    aws.onDescribe((execution) => {
      if (execution.looks === 2) finish(execution, { status: 'FAILED', error: 'States.TaskFailed', cause: 'Sync workspaces failed' });
    });
    const result = await cli(['trigger', '--wait', '--interval-seconds', '0.1', '--json'], awsOnly());
    expect(result.code).toBe(3);
    expect(json(result)).toMatchObject({ execution: { status: 'FAILED', error: 'States.TaskFailed' }, job: null });
  });

  /** trigger --wait with the stack's database: the test writes the job row, as the deployed Start job would. */
  async function waitWithStackDatabase(database: Record<string, string>) {
    aws.onDescribe((execution) => {
      if (execution.looks > 1) finish(execution, { status: 'SUCCEEDED' });
    });
    const before = aws.executions.size;
    const started = cli(['trigger', '--wait', '--interval-seconds', '0.2', '--json'], { ...awsOnly(), ...database });
    while (aws.executions.size === before) await new Promise((resolve) => setTimeout(resolve, 20));
    const [{ executionArn }] = [...aws.executions.values()].slice(-1);
    await db.sql`
      insert into polling_job_status (job_name, execution_arn, status, total_workspaces, completed_at, trigger_source)
      values ('sender-emails-sync', ${executionArn}, 'completed', 0, now(), 'cli')`;
    const result = await started;
    expect(result.code).toBe(0);
    expect(json(result)).toMatchObject({ execution_arn: executionArn, execution: { status: 'SUCCEEDED' }, job: { status: 'completed' } });
    return result;
  }

  bundleTest('trigger', '--wait with DATABASE_URL shows the job row the execution wrote', async () => {
    const result = await waitWithStackDatabase({ DATABASE_URL: db.url });
    expect(result.stderr).toContain(`database: 127.0.0.1:5432/${db.name}`);
  });

  bundleTest('trigger', "--wait with DATABASE_SECRET_ARN reads the stack database's credentials from Secrets Manager", async () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync-db-AbCdEf';
    const url = new URL(db.url);
    aws.putSecret(
      secretArn,
      JSON.stringify({ username: url.username, password: 'unused-here', host: url.hostname, port: Number(url.port), dbname: db.name }),
    );
    const result = await waitWithStackDatabase({ DATABASE_SECRET_ARN: secretArn, DATABASE_SSL: 'disable' });
    expect(result.stderr).toContain(`database: 127.0.0.1:5432/${db.name} (DATABASE_SECRET_ARN)`);
    expect(result.stdout + result.stderr).not.toContain('unused-here');
  });

  bundleTest('status', "shows an AWS job's execution status, read from Step Functions", async () => {
    const result = await cli(['status', '--json'], { ...awsOnly(), DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    expect(json(result)).toMatchObject({ job: { status: 'completed' }, execution: { status: 'SUCCEEDED' } });
  });
});

describe('the program', () => {
  it('has a bundle test for every command it runs', () => {
    const runnable = allCommands()
      .filter((command) => command.commands.length === 0)
      .map((command) => commandPath(command).replace(/^sender-sync /, ''));
    expect([...covered].sort()).toEqual(runnable.sort());
  });

  it('lists as read commands the ones that read, each an existing command', () => {
    const paths = allCommands().map((command) => commandPath(command).replace(/^sender-sync /, ''));
    expect(READ_COMMANDS.filter((name) => !paths.includes(name))).toEqual([]);
    expect([...READ_COMMANDS].sort()).toEqual(
      [
        'accounts',
        'changes',
        'check-keys',
        'jobs',
        'missing',
        'status',
        'webhooks list',
        'webhooks url',
        'workspaces list',
        'compat status',
        'compat pricing list',
      ].sort(),
    );
    expect(program.name()).toBe('sender-sync');
  });
});

describe('read commands on a database without the schema (one rule, from READ_COMMANDS)', async () => {
  const empty = await createEmptyDatabase();

  it('each says so in one line with how to create it, exits 1, and creates no table', async () => {
    const results = await Promise.all(READ_COMMANDS.map((name) => cli(name.split(' '), { DATABASE_URL: empty.url })));
    for (const [i, result] of results.entries()) {
      expect({ command: READ_COMMANDS[i], code: result.code, stdout: result.stdout }).toEqual({
        command: READ_COMMANDS[i],
        code: 1,
        stdout: '',
      });
      expect(result.stderr.trim().split('\n'), READ_COMMANDS[i]).toEqual([
        `sender-sync: SchemaMissingError: 127.0.0.1:5432/${empty.name} holds no sender-sync schema (no schema_migrations table): ` +
          "nothing read, nothing created. Check that DATABASE_URL names the sync's database; `sender-sync migrate` creates the schema.",
      ]);
    }
    const tables =
      await empty.sql`select table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')`;
    expect(tables).toEqual([]);
  });
});

describe('help and usage errors, for every command', () => {
  const everyCommand = [program, ...allCommands()];

  it("every command's --help has an example", async () => {
    const results = await Promise.all(everyCommand.map((command) => cli([...commandPath(command).split(' ').slice(1), '--help'], {})));
    for (const [i, result] of results.entries()) {
      expect({ command: commandPath(everyCommand[i]), code: result.code }).toEqual({ command: commandPath(everyCommand[i]), code: 0 });
      expect(result.stdout, commandPath(everyCommand[i])).toMatch(/\nExample:\n {2}\$ .*sender-sync /);
    }
  });

  it('a group typed without its command shows its help on stdout and exits 0, as gh does', async () => {
    const groups = everyCommand.filter((command) => command.commands.length > 0);
    expect(groups.map(commandPath)).toEqual([
      'sender-sync',
      'sender-sync workspaces',
      'sender-sync webhooks',
      'sender-sync compat',
      'sender-sync compat pricing',
    ]);
    const results = await Promise.all(groups.map((command) => cli(commandPath(command).split(' ').slice(1), {})));
    for (const [i, result] of results.entries()) {
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(new RegExp(`^Usage: ${commandPath(groups[i])} \\[options\\] \\[command\\]\n`));
    }
  });

  it('an unknown option is one line and where the help is, exit 64, for every command', async () => {
    // psql passes the options it does not know on to psql.
    const strict = everyCommand.filter((command) => commandPath(command) !== 'sender-sync psql');
    const results = await Promise.all(strict.map((command) => cli([...commandPath(command).split(' ').slice(1), '--no-such-option'], {})));
    for (const [i, result] of results.entries()) {
      const path = commandPath(strict[i]);
      expect({ path, code: result.code, stdout: result.stdout }).toEqual({ path, code: 64, stdout: '' });
      // A required argument or option is reported before an unknown option.
      const [line, see, ...more] = result.stderr.split('\n');
      expect(line, path).toMatch(
        /^sender-sync: (unknown option '--no-such-option'|missing required argument '.+'|required option '.+' not specified)$/,
      );
      expect([see, ...more], path).toEqual([`see \`${path} --help\``, '']);
    }
  });
});
