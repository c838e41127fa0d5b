import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { lambdaEnvironment, METRICS_NAMESPACE, SERVICE_NAME, type EmailBisonPagination, type LogLevel } from '../lambdas/config/settings';
import { TASK_TIMEOUTS } from '../state-machine/definition';
import { NODE_OPTIONS, SYNC_NODE_OPTIONS } from './node-options';

export interface SyncFunctionsProps {
  /** The repository root: entries, package-lock.json and migrations/ are found from here. */
  projectRoot: string;
  databaseSecret: secretsmanager.ISecret;
  apiKeysSecret: secretsmanager.ISecret;
  network?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] };
  jobName: string;
  runTimeoutMinutes: number;
  syncBudgetSeconds: number;
  pageConcurrency: number;
  emailbisonPagination: EmailBisonPagination;
  emailbisonMaxRps: number;
  logLevel: LogLevel;
  logRetentionDays: number;
  tracingEnabled: boolean;
}

// The Node.js runtimes ship the AWS SDK v3; bundling it again only adds cold-start time.
const EXTERNAL_MODULES = ['@aws-sdk/*'];

// ESM bundles of CommonJS dependencies (undici, postgres internals) still call require().
const REQUIRE_SHIM = "import { createRequire as __senderSyncCreateRequire } from 'node:module'; const require = __senderSyncCreateRequire(import.meta.url);";

/** The five Lambdas, each with its own log group and only the secrets it reads. */
export class SyncFunctions extends Construct {
  readonly startJob: nodejs.NodejsFunction;
  readonly syncWorkspace: nodejs.NodejsFunction;
  readonly recordResult: nodejs.NodejsFunction;
  readonly markFailed: nodejs.NodejsFunction;
  readonly migrate: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: SyncFunctionsProps) {
    super(scope, id);
    // Settings go in under the names and in the form the Lambdas' loadConfig reads (test/infra/lambda-environment.test.ts).
    const commonEnvironment = {
      ...lambdaEnvironment({
        databaseSecretArn: props.databaseSecret.secretArn,
        jobName: props.jobName,
        runTimeoutMinutes: props.runTimeoutMinutes,
        logLevel: props.logLevel,
      }),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS,
    };

    const create = (name: string, task: keyof typeof TASK_TIMEOUTS, options: { description: string; memorySize?: number; environment?: Record<string, string>; commandHooks?: nodejs.ICommandHooks }) => {
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        retention: props.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const fn = new nodejs.NodejsFunction(this, name, {
        description: options.description,
        entry: path.join(props.projectRoot, 'lambdas', kebab(task), 'handler.ts'),
        handler: 'handler',
        projectRoot: props.projectRoot,
        depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: options.memorySize ?? 256,
        timeout: TASK_TIMEOUTS[task],
        logGroup,
        tracing: props.tracingEnabled ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
        environment: { ...commonEnvironment, ...options.environment },
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
          commandHooks: options.commandHooks,
        },
      });
      props.databaseSecret.grantRead(fn);
      acknowledgeFunctionFindings(fn, props);
      return fn;
    };

    this.startJob = create('StartJob', 'startJob', {
      description: 'sender-sync: takes the run lock, creates the job row, lists the workspaces',
    });
    this.syncWorkspace = create('SyncWorkspace', 'syncWorkspace', {
      description: 'sender-sync: syncs one workspace from EmailBison into Postgres, resumable from a cursor',
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
    });
    props.apiKeysSecret.grantRead(this.syncWorkspace);
    this.recordResult = create('RecordResult', 'recordResult', {
      description: 'sender-sync: aggregates the workspace results into polling_job_status and emits run metrics',
    });
    this.markFailed = create('MarkFailed', 'markFailed', {
      description: 'sender-sync: records a failed workspace or run, so no job stays running',
    });
    this.migrate = create('Migrate', 'migrate', {
      description: 'sender-sync: applies migrations/*.sql to Postgres (run on deploy by a trigger)',
      // The handler reads the SQL from $LAMBDA_TASK_ROOT/migrations.
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir, outputDir) => [`cp -R "${path.join(inputDir, 'migrations')}" "${path.join(outputDir, 'migrations')}"`],
      },
    });
  }

  get all(): nodejs.NodejsFunction[] {
    return [this.startJob, this.syncWorkspace, this.recordResult, this.markFailed, this.migrate];
  }
}

function kebab(task: string): string {
  return task.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

function acknowledgeFunctionFindings(fn: lambda.Function, props: SyncFunctionsProps): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'Node.js 22 is the runtime sender-sync is built and tested for (esbuild target node22); moving to a newer one is a deliberate upgrade.',
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
