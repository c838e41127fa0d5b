import { type CfnResource, type CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface MigrationsOnDeployProps {
  migrate: lambda.Function;
  /** What must not be created or updated before the migrations are applied. */
  before: Construct[];
  /** The migrate function's own timeout: the trigger waits a little longer for it. */
  migrateTimeout: Duration;
  /** The folder of migrations/*.sql (also copied into the migrate bundle). */
  migrationsDir: string;
  /** Different on every synthesis (the app passes the time): makes every deploy run the trigger. */
  deployId: string;
  logRetentionDays: number;
}

/** The id CDK gives the one trigger provider of a stack (aws-cdk-lib/triggers). */
const TRIGGER_PROVIDER_ID = 'AWSCDK.TriggerCustomResourceProviderCustomResourceProvider';

/**
 * Applies migrations/*.sql during every `cdk deploy`, before the state machine and the
 * task functions are created or updated. A deploy can't tell whether someone filled in
 * the database secret since the last one, so the trigger runs on every deploy (the
 * deploy id changes its properties; applied files are skipped by checksum, so a deploy
 * with nothing new costs one query per file). The migrations' hash is a property too, so
 * `cdk diff` says when they changed. While the secret holds the placeholder the migrate
 * function applies nothing and says why, and the deploy succeeds; a failed migration
 * fails (and rolls back) the deploy.
 */
export class MigrationsOnDeploy extends Construct {
  readonly trigger: triggers.Trigger;
  readonly providerLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MigrationsOnDeployProps) {
    super(scope, id);
    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: props.migrate,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      executeOnHandlerChange: true,
      executeBefore: props.before,
      timeout: props.migrateTimeout.plus(Duration.seconds(30)),
    });
    // The provider invokes the handler on every update of these properties.
    const resource = (this.trigger.node.defaultChild as CustomResource).node.defaultChild as CfnResource;
    resource.addPropertyOverride('MigrationsSha256', migrationsHash(props.migrationsDir));
    resource.addPropertyOverride('DeployId', props.deployId);

    // The provider function CDK creates writes to /aws/lambda/<name>, created on first log
    // with no retention; point it at a group of ours with the stack's retention instead.
    this.providerLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const provider = Stack.of(this).node.findChild(TRIGGER_PROVIDER_ID).node.findChild('Handler') as CfnResource;
    provider.addPropertyOverride('LoggingConfig', { LogGroup: this.providerLogs.logGroupName });
  }
}

/** The SHA-256 of every migrations/*.sql, by name and content. */
export function migrationsHash(directory: string): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(directory)
    .filter((name) => name.endsWith('.sql'))
    .sort()) {
    hash
      .update(`${file}\n`)
      .update(readFileSync(path.join(directory, file), 'utf8').replace(/\r\n/g, '\n'))
      .update('\n');
  }
  return hash.digest('hex');
}
