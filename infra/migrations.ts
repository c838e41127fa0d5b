import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';

export interface MigrationsOnDeployProps {
  migrate: lambda.Function;
  /** What must not be created or updated before the migrations are applied. */
  before: Construct[];
  /** The migrate function's own timeout: the trigger waits a little longer for it. */
  migrateTimeout: Duration;
}

/**
 * Applies migrations/*.sql during `cdk deploy`, before the state machine and the task
 * functions are created or updated. It runs again whenever the migrate function changes, and its SQL files are
 * part of its bundle, so a new migration is applied by the deploy that ships it. A
 * failed migration fails (and rolls back) the deploy.
 */
export class MigrationsOnDeploy extends Construct {
  readonly trigger: triggers.Trigger;

  constructor(scope: Construct, id: string, props: MigrationsOnDeployProps) {
    super(scope, id);
    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: props.migrate,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      executeOnHandlerChange: true,
      executeBefore: props.before,
      timeout: props.migrateTimeout.plus(Duration.seconds(30)),
    });
  }
}
