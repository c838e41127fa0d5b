import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { SslMode } from '../lambdas/db/client';
import { StackConfigError } from '../lambdas/errors';
import {
  lambdaEnvironment,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  type DatabasePoolModeSetting,
  type EmailBisonPagination,
  type LogLevel,
} from '../lambdas/config/settings';
import { TASKS, TASK_NAMES, type TaskName } from '../lambdas/tasks';
import { NODE_OPTIONS, SYNC_NODE_OPTIONS } from './node-options';

export interface SyncFunctionsProps {
  /** The repository root: entries, package-lock.json and migrations/ are found from here. */
  projectRoot: string;
  databaseSecret: secretsmanager.ISecret;
  apiKeysSecret: secretsmanager.ISecret;
  network?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] };
  /** Where Postgres is and how it is verified (CDK context), over what the database secret says. */
  database?: { ssl?: SslMode; host?: string; port?: number; name?: string; caBundle?: string; poolMode?: DatabasePoolModeSetting };
  jobName: string;
  runTimeoutMinutes: number;
  syncBudgetSeconds: number;
  pageConcurrency: number;
  emailbisonPagination: EmailBisonPagination;
  emailbisonMaxRps: number;
  /** The EventBridge schedule expression: Start job plans each run within its interval. */
  schedule: string;
  /** Finalize job's digest: the warmup score drop and floor it reports. */
  warmupScoreDropPoints: number;
  warmupScoreFloor: number;
  logLevel: LogLevel;
  logRetentionDays: number;
  tracingEnabled: boolean;
}

// The Node.js runtimes ship the AWS SDK v3; bundling it again only adds cold-start time.
const EXTERNAL_MODULES = ['@aws-sdk/*'];

// ESM bundles of CommonJS dependencies (undici, postgres internals) still call require().
const REQUIRE_SHIM =
  "import { createRequire as __senderSyncCreateRequire } from 'node:module'; const require = __senderSyncCreateRequire(import.meta.url);";

/*
 * The Lambda Node.js runtimes (20 and later) carry Amazon's CA certificates, RDS's
 * included, in this file but do not load them at start (it slows cold starts):
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html (CA certificate loading).
 * sender-sync reads it only to verify Postgres (DATABASE_CA_FILE), not NODE_EXTRA_CA_CERTS.
 */
export const LAMBDA_RUNTIME_CA_FILE = '/var/runtime/ca-cert.pem';
/** Where a CA bundle given by path lands in each function's bundle ($LAMBDA_TASK_ROOT). */
export const SHIPPED_CA_FILE = '/var/task/database-ca.pem';

/** Applies migrations/*.sql on deploy; not a state machine task. */
export const MIGRATE_TIMEOUT = Duration.minutes(2);

export interface FunctionOptions {
  memorySize?: number;
  environment?: Record<string, string>;
  commandHooks?: nodejs.ICommandHooks;
  /** A function that never opens Postgres (the webhook receiver): no database secret, no database settings. */
  withoutDatabase?: boolean;
  reservedConcurrentExecutions?: number;
}

/** A Lambda for each task of lambdas/tasks.ts and one for migrations, each with its own log group and only the secrets it reads. */
export class SyncFunctions extends Construct {
  readonly tasks: Readonly<Record<TaskName, nodejs.NodejsFunction>>;
  readonly migrate: nodejs.NodejsFunction;
  /** Another function bundled, configured and granted like these (the webhook receiver: infra/webhooks.ts). */
  readonly createFunction: (
    name: string,
    dir: string,
    options: FunctionOptions & { description: string; timeout: Duration },
  ) => nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: SyncFunctionsProps) {
    super(scope, id);
    const database = props.database ?? {};
    const caBundle = database.caBundle ? databaseCaBundle(props.projectRoot, database.caBundle) : undefined;
    // Settings go in under the names and in the form the Lambdas' loadConfig reads (test/infra/lambda-environment.test.ts).
    const commonEnvironment = {
      ...lambdaEnvironment({
        databaseSecretArn: props.databaseSecret.secretArn,
        databaseSsl: database.ssl,
        databaseHost: database.host,
        databasePort: database.port,
        databaseName: database.name,
        databasePoolMode: database.poolMode,
        databaseCaFile: caBundle?.lambdaPath,
        jobName: props.jobName,
        runTimeoutMinutes: props.runTimeoutMinutes,
        logLevel: props.logLevel,
      }),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS,
    };

    const withoutDatabaseEnvironment = {
      ...lambdaEnvironment({ logLevel: props.logLevel }),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS,
    };

    const create = (name: string, dir: string, options: FunctionOptions & { description: string; timeout: Duration }) => {
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        retention: props.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const fn = new nodejs.NodejsFunction(this, name, {
        description: options.description,
        entry: path.join(props.projectRoot, 'lambdas', dir, 'handler.ts'),
        handler: 'handler',
        projectRoot: props.projectRoot,
        depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: options.memorySize ?? 256,
        timeout: options.timeout,
        logGroup,
        tracing: props.tracingEnabled ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
        environment: { ...(options.withoutDatabase ? withoutDatabaseEnvironment : commonEnvironment), ...options.environment },
        reservedConcurrentExecutions: options.reservedConcurrentExecutions,
        vpc: props.network?.vpc,
        vpcSubnets: props.network?.subnets,
        securityGroups: props.network?.securityGroups,
        bundling: {
          format: nodejs.OutputFormat.ESM,
          target: 'node22',
          mainFields: ['module', 'main'],
          minify: true,
          // Error classes are matched by name in the state machine's Retry/Catch: minifying must not rename them.
          keepNames: true,
          sourceMap: true,
          sourcesContent: false,
          externalModules: EXTERNAL_MODULES,
          banner: REQUIRE_SHIM,
          forceDockerBundling: false,
          commandHooks: options.withoutDatabase ? options.commandHooks : withCaBundle(options.commandHooks, caBundle?.source),
        },
      });
      if (!options.withoutDatabase) props.databaseSecret.grantRead(fn);
      acknowledgeFunctionFindings(fn, props);
      return fn;
    };

    this.createFunction = create;

    // What a task needs beyond the common settings; a task not named here needs nothing more.
    const taskOptions: Partial<Record<TaskName, FunctionOptions>> = {
      // The plan (lambdas/jobs/plan-run.ts): each instance's workspaces at the request cap, within the schedule's interval.
      startJob: { environment: lambdaEnvironment({ emailbisonMaxRps: props.emailbisonMaxRps, schedule: props.schedule }) },
      // The digest's warmup health (lambdas/health/warmup-alerts.ts).
      finalizeJob: {
        environment: lambdaEnvironment({ warmupScoreDropPoints: props.warmupScoreDropPoints, warmupScoreFloor: props.warmupScoreFloor }),
      },
      syncWorkspace: {
        memorySize: 1024,
        environment: {
          ...lambdaEnvironment({
            apiKeysSecretArn: props.apiKeysSecret.secretArn,
            syncBudgetSeconds: props.syncBudgetSeconds,
            pageConcurrency: props.pageConcurrency,
            emailbisonPagination: props.emailbisonPagination,
            emailbisonMaxRps: props.emailbisonMaxRps,
          }),
          NODE_OPTIONS: SYNC_NODE_OPTIONS,
        },
      },
    };
    this.tasks = Object.fromEntries(
      TASK_NAMES.map((task) => {
        const { constructId, dir, description, timeoutSeconds } = TASKS[task];
        return [task, create(constructId, dir, { description, timeout: Duration.seconds(timeoutSeconds), ...taskOptions[task] })];
      }),
    ) as Record<TaskName, nodejs.NodejsFunction>;
    props.apiKeysSecret.grantRead(this.tasks.syncWorkspace);
    this.migrate = create('Migrate', 'migrate', {
      timeout: MIGRATE_TIMEOUT,
      description: 'sender-sync: applies migrations/*.sql to Postgres (run on deploy by a trigger)',
      // The handler reads the SQL from $LAMBDA_TASK_ROOT/migrations.
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir, outputDir) => [`cp -R "${path.join(inputDir, 'migrations')}" "${path.join(outputDir, 'migrations')}"`],
      },
    });
  }

  /** Every function with its construct id, the name its alarms carry. */
  get named(): { name: string; fn: nodejs.NodejsFunction }[] {
    return [...TASK_NAMES.map((task) => ({ name: TASKS[task].constructId, fn: this.tasks[task] })), { name: 'Migrate', fn: this.migrate }];
  }

  get all(): nodejs.NodejsFunction[] {
    return this.named.map(({ fn }) => fn);
  }
}

/** `rds`: the runtime's own file; a path: a PEM in the repository, copied into every bundle. */
function databaseCaBundle(projectRoot: string, bundle: string): { lambdaPath: string; source?: string } {
  if (bundle.toLowerCase() === 'rds') return { lambdaPath: LAMBDA_RUNTIME_CA_FILE };
  const source = path.resolve(projectRoot, bundle);
  if (!existsSync(source))
    throw new StackConfigError(
      `sender-sync:databaseCaBundle: ${source} does not exist (give "rds" or a PEM file relative to the repository root).`,
    );
  return { lambdaPath: SHIPPED_CA_FILE, source };
}

function withCaBundle(hooks: nodejs.ICommandHooks | undefined, source: string | undefined): nodejs.ICommandHooks | undefined {
  if (!source) return hooks;
  return {
    beforeBundling: (inputDir, outputDir) => hooks?.beforeBundling(inputDir, outputDir) ?? [],
    beforeInstall: (inputDir, outputDir) => hooks?.beforeInstall(inputDir, outputDir) ?? [],
    afterBundling: (inputDir, outputDir) => [
      ...(hooks?.afterBundling(inputDir, outputDir) ?? []),
      `cp "${source}" "${path.join(outputDir, path.basename(SHIPPED_CA_FILE))}"`,
    ],
  };
}

function acknowledgeFunctionFindings(fn: lambda.Function, props: SyncFunctionsProps): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Node.js 22 is the runtime sender-sync is built and tested for (esbuild target node22); moving to a newer one is a deliberate upgrade.',
  });
  const managedPolicies = ['AWSLambdaBasicExecutionRole', ...(props.network ? ['AWSLambdaVPCAccessExecutionRole'] : [])];
  for (const policy of managedPolicies) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`,
      reason:
        policy === 'AWSLambdaBasicExecutionRole'
          ? 'The AWS-managed basic execution policy only lets the function write its own logs.'
          : 'The AWS-managed VPC access policy only manages the network interfaces Lambda needs in the database VPC.',
    });
  }
  if (props.tracingEnabled) {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions, so they need Resource "*".',
    });
  }
}
