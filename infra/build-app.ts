import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fileURLToPath } from 'node:url';
import { readStackConfig } from './config';
import { SenderSyncStack } from './stack';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STACK_NAME = 'SenderSync';

export interface BuildAppOptions {
  /** Context on top of cdk.json's (tests). */
  context?: Record<string, unknown>;
  outdir?: string;
  /** Run cdk-nag's AwsSolutions checks at synth. Default true. */
  nag?: boolean;
  env?: { account?: string; region?: string };
  /** CDK's built-in CloudFormation template validation at synth (slow to start: tests of the template turn it off). Default true. */
  cloudFormationValidation?: boolean;
  /** Changes the migration trigger's properties, so the deploy runs it. Default: the time of synthesis (every deploy migrates). */
  deployId?: string;
}

/** The CDK app: the stack configured from context, checked by cdk-nag. */
export function buildApp(options: BuildAppOptions = {}): { app: App; stack: SenderSyncStack } {
  const app = new App({
    context: options.context,
    outdir: options.outdir,
    builtinCloudFormationValidation: options.cloudFormationValidation ?? true,
  });
  const config = readStackConfig((key) => app.node.tryGetContext(key));
  const stack = new SenderSyncStack(app, STACK_NAME, {
    config,
    projectRoot: PROJECT_ROOT,
    deployId: options.deployId ?? new Date().toISOString(),
    env: options.env,
    description: 'sender-sync: keeps a Postgres copy of every EmailBison sender account (Step Functions, Lambda, alarms)',
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
