import path from 'node:path';
import type { Context } from 'aws-lambda';
import { migrateFromDirectory, type MigrationResult } from '../db/migrate';
import { describeError, ERROR_CATALOGUE, errorCode } from '../errors';
import { createLambdaRuntime } from '../runtime/production';

const runtime = createLambdaRuntime(process.env, { part: 'migrate' });

/** What the deploy's trigger gets back: `skipped` says why nothing was applied. */
export type MigrateResult = MigrationResult & { skipped?: string };

/**
 * Run by the deploy (a CDK trigger): the SQL files are copied next to the bundle. While
 * the database secret holds the stack's placeholder there is no database to migrate:
 * the deploy succeeds and says so, and the next deploy (every deploy runs this) migrates.
 */
export const handler = async (_event: unknown, context?: Context): Promise<MigrateResult> => {
  const deps = await runtime.deps(context).catch((error: unknown) => {
    if (errorCode(error) !== ERROR_CATALOGUE.NotConfiguredError.code) throw error;
    return describeError(error);
  });
  if (typeof deps === 'string') {
    runtime.logger.warn('migrations not applied: the database is not configured yet', { reason: deps });
    return { applied: [], alreadyApplied: 0, skipped: deps };
  }
  const directory = path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'migrations');
  const result = await migrateFromDirectory(deps.sql, directory, (line) => deps.log.info(line), {
    lockTimeoutMs: deps.config.migrationLockTimeoutMs,
    attempts: deps.config.migrationLockAttempts,
  });
  deps.log.info('migrations done', { applied: result.applied, alreadyApplied: result.alreadyApplied });
  return result;
};
