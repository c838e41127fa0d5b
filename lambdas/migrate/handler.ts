import path from 'node:path';
import type { Context } from 'aws-lambda';
import { migrateFromDirectory, type MigrationResult } from '../db/migrate';
import { createLambdaRuntime } from '../runtime/production';

const runtime = createLambdaRuntime();

/** Run by the deploy (a CDK trigger): the SQL files are copied next to the bundle. */
export const handler = async (_event: unknown, context?: Context): Promise<MigrationResult> => {
  const deps = await runtime.deps(context);
  const directory = path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'migrations');
  const result = await migrateFromDirectory(deps.sql, directory, (line) => deps.log.info(line));
  deps.log.info('migrations done', { applied: result.applied, alreadyApplied: result.alreadyApplied });
  return result;
};
