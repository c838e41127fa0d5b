import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app';
import { tempDir } from '../helpers/cleanup';
import { readStackConfig, type StackConfig } from '../../infra/config';
import { loadConfig, type Config } from '../../lambdas/config/load-config';
import { lambdaEnvironment, SETTINGS, type Setting } from '../../lambdas/config/settings';

/*
 * The stack and the Lambdas read their shared settings through one table; these tests
 * show it holds where it matters: in the environment the synthesized stack gives each
 * Lambda, and at the edges of what each side accepts.
 */

const DATABASE_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf';
const API_KEYS_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/api-keys-GhIjKl';
const IMPORTED = { 'sender-sync:databaseSecretArn': DATABASE_SECRET_ARN, 'sender-sync:apiKeysSecretArn': API_KEYS_SECRET_ARN };

/** Environment variables a Lambda gets that are not sender-sync settings: Powertools' own and Node's. */
const RUNTIME_VARIABLES = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS'];

type Shared = keyof Config & keyof StackConfig;
const ALL = Object.entries(SETTINGS) as [string, Setting<unknown>][];
/** Settings the stack reads from context and passes on to a Lambda. */
const SHARED = ALL.filter(([, setting]) => setting.env && setting.context).map(([name]) => name as Shared);
const ENV_NAMES = new Set(ALL.flatMap(([, setting]) => (setting.env ? [setting.env] : [])));

function lambdaEnvironments(context: Record<string, unknown>): [string, Record<string, unknown>][] {
  const { stack } = buildApp({
    context: { 'aws:cdk:bundling-stacks': [], ...IMPORTED, ...context },
    outdir: tempDir('cdk.out-env-'),
    nag: false,
    cloudFormationValidation: false,
  });
  return Object.entries(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
    .filter(([, fn]) => String(fn.Properties.Description ?? '').startsWith('sender-sync:'))
    .map(([id, fn]) => [id, withTopicArn(fn.Properties.Environment.Variables)]);
}

/** The ChangesTopic the stack creates is a Ref in the template: an ARN of the form it resolves to, for loadConfig. */
function withTopicArn(variables: Record<string, unknown>): Record<string, unknown> {
  const ref = variables.CHANGES_TOPIC_ARN as { Ref?: string } | undefined;
  if (!ref) return variables;
  expect(ref.Ref).toMatch(/^ChangesTopic/);
  return { ...variables, CHANGES_TOPIC_ARN: `arn:aws:sns:eu-west-1:123456789012:${ref.Ref}` };
}

const NON_DEFAULT = {
  'sender-sync:jobName': 'nightly-sync',
  'sender-sync:runTimeoutMinutes': '240',
  'sender-sync:syncBudgetSeconds': 780,
  'sender-sync:pageConcurrency': '20',
  'sender-sync:logLevel': 'debug',
  'sender-sync:emailbisonPagination': 'CURSOR',
  'sender-sync:emailbisonMaxRps': '0.5',
  'sender-sync:schedule': 'rate(30 minutes)',
  'sender-sync:databaseSsl': 'VERIFY-FULL',
  'sender-sync:databaseHost': 'db.abc123.eu-west-1.rds.amazonaws.com',
  'sender-sync:databasePort': '6432',
  'sender-sync:databaseName': 'sync',
  'sender-sync:databasePoolMode': 'SESSION',
  'sender-sync:warmupScoreDropPoints': '15',
  'sender-sync:warmupScoreFloor': '42.5',
};

describe('the environment the stack gives each Lambda', () => {
  it.each([
    ['by default', {}],
    ['with every shared setting changed', NON_DEFAULT],
  ])('is accepted by loadConfig and means what the stack was told (%s)', (_, context) => {
    const told = readStackConfig((key) => ({ ...IMPORTED, ...context })[key]);
    const received = new Set<string>();
    const environments = lambdaEnvironments(context);
    expect(environments).toHaveLength(7);
    for (const [id, stackEnvironment] of environments) {
      // The webhook master secret is always the stack's own: a reference, a string once deployed.
      const environment = { ...stackEnvironment };
      if (environment.WEBHOOK_SECRET_ARN !== undefined) {
        expect(environment.WEBHOOK_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^WebhooksSecret/) });
        environment.WEBHOOK_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhooksSecret-AbCdEf';
      }
      // The intake queue is the stack's own too: its Ref is its URL once deployed.
      if (environment.WEBHOOK_QUEUE_URL !== undefined) {
        expect(environment.WEBHOOK_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^WebhooksIntake/) });
        environment.WEBHOOK_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/WebhooksIntake';
      }
      for (const [name, value] of Object.entries(environment)) {
        expect(typeof value, `${id} ${name}`).toBe('string');
        expect(ENV_NAMES.has(name) || RUNTIME_VARIABLES.includes(name), `${id} gets ${name}, which no Lambda reads`).toBe(true);
      }
      const config = loadConfig(environment as Record<string, string>);
      for (const name of SHARED.filter((shared) => SETTINGS[shared].env in environment)) {
        expect(config[name], `${id} ${name}`).toEqual(told[name]);
        received.add(name);
      }
      // The webhook receiver never opens Postgres: it holds no database secret.
      expect(config.databaseSecretArn, id).toBe(id.startsWith('FunctionsWebhookReceiver') ? undefined : DATABASE_SECRET_ARN);
    }
    const given = SHARED.filter((name) => told[name] !== undefined);
    expect([...received].sort(), 'every setting the stack shares (and was given) reaches a Lambda').toEqual(given.sort());
  });

  it('carries the imported API-keys secret and the EmailBison settings to sync-workspace only', () => {
    const withKeys = lambdaEnvironments(NON_DEFAULT).filter(([, environment]) => 'API_KEYS_SECRET_ARN' in environment);
    expect(withKeys).toHaveLength(1);
    expect(loadConfig(withKeys[0][1] as Record<string, string>)).toMatchObject({
      apiKeysSecretArn: API_KEYS_SECRET_ARN,
      emailbisonPagination: 'cursor',
      emailbisonMaxRps: 0.5,
      pageConcurrency: 20,
      syncBudgetSeconds: 780,
    });
  });
});

describe("Start job's plan", () => {
  it('gets the schedule and the request cap it plans each run with (issue 22 item 6), and no key', () => {
    const planning = lambdaEnvironments(NON_DEFAULT).filter(([, environment]) => 'SYNC_SCHEDULE' in environment);
    expect(planning.map(([id]) => id)).toEqual([expect.stringMatching(/^FunctionsStartJob/)]);
    const config = loadConfig(planning[0][1] as Record<string, string>);
    expect(config).toMatchObject({ schedule: 'rate(30 minutes)', emailbisonMaxRps: 0.5, runTimeoutMinutes: 240 });
    expect(config.apiKeysSecretArn).toBeUndefined();
  });
});

const PROBES: unknown[] = [
  -1,
  0,
  0.5,
  1,
  4,
  5,
  20,
  21,
  59,
  60,
  780,
  781,
  840,
  841,
  1000,
  1001,
  1440,
  1441,
  'lots',
  ' 7 ',
  '1e3',
  'debug',
  'DEBUG',
  'verbose',
  'auto',
  'page',
  'CURSOR',
  'offset',
  'true',
];

describe('a shared setting at the edges', () => {
  it.each(SHARED)('%s: the stack rejects every value the Lambdas reject, and what it accepts reaches them unchanged', (name) => {
    const setting = SETTINGS[name] as Setting<unknown>;
    const rejectedByLambda: unknown[] = [];
    for (const probe of PROBES) {
      const lambda = attempt(() => loadConfig({ [setting.env!]: String(probe) })[name]);
      const stack = attempt(
        () => readStackConfig((key) => ({ ...IMPORTED, [`sender-sync:${setting.context}`]: probe })[key as never])[name],
      );
      if (!lambda.ok) {
        rejectedByLambda.push(probe);
        expect(stack, `sender-sync:${setting.context}=${JSON.stringify(probe)}`).toMatchObject({
          ok: false,
          error: { name: 'StackConfigError' },
        });
        expect(String((stack as { error: Error }).error.message)).toContain(`sender-sync:${setting.context}`);
      }
      if (stack.ok) {
        expect(loadConfig(lambdaEnvironment({ [name]: stack.value }))[name], `${name}=${JSON.stringify(probe)}`).toEqual(stack.value);
      }
    }
    // Free text (a name, a host) has no bound to probe.
    if (!['jobName', 'databaseHost', 'databaseName'].includes(name))
      expect(rejectedByLambda, 'the probes reach past the bounds').not.toEqual([]);
  });
});

function attempt<T>(read: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: read() };
  } catch (error) {
    return { ok: false, error };
  }
}
