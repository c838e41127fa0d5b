import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig, type Config } from '../../lambdas/config/load-config';
import { DATABASE_PARTS } from '../../lambdas/config/settings';
import { createSql, type DatabaseSecret } from '../../lambdas/db/client';
import { partTimeouts, secretPassword } from '../../lambdas/db/part';
import { describeError, UsageError } from '../../lambdas/errors';
import { findJobByExecution, jobColumns, jobWorkspaces, type JobRecord } from '../../lambdas/jobs/read-job';
import { awsClientOptions } from '../../lambdas/runtime/aws-sdk';
import { createSecretResolver } from '../../lambdas/secrets/resolve';
import { asReadDatabase, openDatabaseForReading, type ReadDatabase } from '../../local/database';
import { describeExecution, executionConsoleUrl, regionOf, startExecution } from '../aws';
import { EXIT, fail, printJson } from '../output';
import { jobSummaryLines, workspaceTable } from './reports';
import { visible } from '../terminal-text';

export { EXIT } from '../output';

export interface TriggerOptions {
  workspaces?: string;
  wait?: boolean;
  stateMachineArn?: string;
  json?: boolean;
  intervalSeconds?: number;
}

type Execution = Awaited<ReturnType<typeof describeExecution>>;

export async function triggerCommand(options: TriggerOptions): Promise<void> {
  try {
    const stateMachineArn = options.stateMachineArn ?? process.env.STATE_MACHINE_ARN;
    if (!stateMachineArn)
      throw new UsageError('No state machine: pass --state-machine-arn or set STATE_MACHINE_ARN (the stack output StateMachineArn).');
    if (!regionOf(stateMachineArn))
      throw new UsageError(`"${stateMachineArn}" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>).`);
    const names = options.workspaces
      ?.split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const input = names && names.length > 0 ? { workspaces: names, triggerSource: 'cli' } : { triggerSource: 'cli' };
    const { executionArn } = await startExecution(stateMachineArn, input);
    const consoleUrl = executionConsoleUrl(executionArn);
    if (!options.wait) {
      if (options.json) printJson({ execution_arn: executionArn, console_url: consoleUrl });
      else {
        console.log(`started ${executionArn}`);
        console.log(`console: ${consoleUrl}`);
      }
      return;
    }
    // Progress and notes go to stderr with --json: stdout holds the one JSON value at the end.
    const say = options.json ? (line: string) => console.error(line) : (line: string) => console.log(line);
    say(`started ${executionArn}`);
    say(`console: ${consoleUrl}`);
    const db = await openStackDatabase(loadConfig(process.env), (note) => console.error(note));
    try {
      process.exitCode = await follow(executionArn, consoleUrl, db, options, say);
    } finally {
      await db?.close();
    }
  } catch (error) {
    fail(error);
  }
}

/** Follows the execution (DescribeExecution) to its end; the job row too when the stack's database is open. */
async function follow(
  executionArn: string,
  consoleUrl: string,
  db: ReadDatabase | undefined,
  options: TriggerOptions,
  say: (line: string) => void,
): Promise<number> {
  let lastLine = '';
  for (;;) {
    const execution = await describeExecution(executionArn);
    if ('unavailable' in execution) throw new Error(`Cannot follow the execution: ${execution.unavailable}.`);
    const job = db ? await db.read((sql) => findJobByExecution(sql, executionArn)) : undefined;
    const workspaces = job && db ? await db.read((sql) => jobWorkspaces(sql, job.jobId)) : [];
    if (execution.status === 'RUNNING') {
      const done = workspaces.filter((w) => w.status === 'synced' || w.status === 'failed').length;
      const accounts = workspaces.reduce((sum, w) => sum + w.accounts_synced, 0);
      const line = job ? `RUNNING: ${done}/${workspaces.length} workspaces done, ${accounts} accounts` : 'RUNNING';
      if (line !== lastLine) say(line);
      lastLine = line;
      await delay(Number(options.intervalSeconds ?? 5) * 1000);
      continue;
    }
    // Without the stack's database, a SUCCEEDED execution's output is its job (Finalize job's result): partial or completed.
    const finalJob = job ?? jobOfOutput(execution.output);
    if (options.json) {
      printJson({
        execution_arn: executionArn,
        console_url: consoleUrl,
        execution: {
          status: execution.status,
          stop_date: execution.stopDate ?? null,
          error: execution.error ?? null,
          cause: execution.cause ?? null,
        },
        job: finalJob ? jobColumns(finalJob) : null,
        workspaces,
      });
    } else if (job) {
      console.log(`\n${workspaceTable(workspaces)}\n`);
      console.log(jobSummaryLines(job, execution).join('\n'));
    } else if (finalJob) {
      console.log(
        `execution ${execution.status}: job ${finalJob.jobId} ${finalJob.status}: ${finalJob.workspacesSynced}/${finalJob.totalWorkspaces} workspaces synced, ` +
          `${finalJob.totalAccountsSynced} accounts (from the execution's output; the stack's database would show its workspaces)`,
      );
    } else {
      console.log(visible(`execution ${execution.status}${execution.error ? `: ${execution.error}` : ''}`));
    }
    return exitCodeOf(execution, finalJob, db !== undefined);
  }
}

/** The job an execution's output carries (Finalize job's result), if it is one. */
function jobOfOutput(output: string | undefined): JobRecord | undefined {
  try {
    const parsed = JSON.parse(output ?? '') as Partial<JobRecord>;
    return typeof parsed?.jobId === 'string' && typeof parsed.status === 'string' ? (parsed as JobRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The job's status decides (from its row, else the execution's output); else the execution's. */
function exitCodeOf(execution: Exclude<Execution, { unavailable: string }>, job: JobRecord | undefined, withDatabase: boolean) {
  if (job?.status === 'completed') return EXIT.completed;
  if (job?.status === 'partial') return EXIT.partial;
  if (job || withDatabase) return EXIT.failed;
  return execution.status === 'SUCCEEDED' ? EXIT.completed : EXIT.failed;
}

/**
 * The stack's database, to show the job row beside the execution: DATABASE_URL, else the
 * stack's database secret (DATABASE_SECRET_ARN), read-only. Never the embedded Postgres:
 * an AWS execution's job can never appear there. Undefined, with a note, when neither is
 * configured or it cannot be read; the execution is followed all the same.
 */
async function openStackDatabase(config: Config, note: (line: string) => void): Promise<ReadDatabase | undefined> {
  try {
    if (config.databaseUrl) {
      const db = await openDatabaseForReading({ databaseUrl: config.databaseUrl, embeddedDataDir: config.embeddedPostgresDir, config });
      note(`database: ${db.description}`);
      return db;
    }
    if (config.databaseSecretArn) {
      const secrets = createSecretResolver({
        env: process.env,
        ttlSeconds: 0,
        secretsManager: new SecretsManagerClient(regionalOptions(config.databaseSecretArn)),
      });
      const reference = `aws-sm:${config.databaseSecretArn}`;
      const secret = await secrets.resolveJson<DatabaseSecret>(reference, 'database credentials');
      const target = { host: config.databaseHost, port: config.databasePort, database: config.databaseName };
      const sql = createSql({
        secret,
        target,
        ssl: config.databaseSsl,
        prepare: config.databasePrepare,
        poolMode: config.databasePoolMode,
        timeouts: partTimeouts(config, 'cli'),
        applicationName: DATABASE_PARTS.cli.applicationName,
        password: secretPassword(secrets, reference, note),
        max: 2,
      });
      const host = target.host ?? secret.host ?? '?';
      const description = `${host}:${target.port ?? secret.port ?? 5432}/${target.database ?? secret.dbname ?? secret.database ?? 'postgres'}`;
      const db = await asReadDatabase({ url: '', embedded: false, sql, close: () => sql.end({ timeout: 5 }) }, description);
      note(`database: ${db.description} (DATABASE_SECRET_ARN)`);
      return db;
    }
    note("job row: not shown (set DATABASE_URL or DATABASE_SECRET_ARN to the stack's database); following the execution only");
  } catch (error) {
    note(`job row: not shown (${describeError(error)}); following the execution only`);
  }
  return undefined;
}

function regionalOptions(arn: string) {
  const region = regionOf(arn);
  return { ...awsClientOptions(), ...(region ? { region } : {}) };
}
