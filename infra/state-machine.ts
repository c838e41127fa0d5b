import { CfnElement, type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STATE_MACHINE_COMMENT, buildSyncDefinition, type SyncTaskFunctions } from '../state-machine/definition';

export interface SyncStateMachineProps {
  functions: SyncTaskFunctions;
  mapConcurrency: number;
  runTimeout: Duration;
  tracingEnabled: boolean;
  logRetentionDays: number;
}

/**
 * The STANDARD state machine running state-machine/definition.ts. It logs only errors,
 * without execution data: the execution history in the console already shows each
 * state's input and output, and logs are kept longer than history.
 */
export class SyncStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: SyncStateMachineProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      // Log delivery adds each log group to a size-limited CloudWatch Logs resource policy;
      // groups under /aws/vendedlogs/ share one entry there.
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      comment: STATE_MACHINE_COMMENT,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: buildSyncDefinition(this, { functions: props.functions, mapConcurrency: props.mapConcurrency }),
      timeout: props.runTimeout,
      tracingEnabled: props.tracingEnabled,
      logs: { destination: logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    });

    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF1',
      reason:
        "Logging ERROR without execution data is deliberate: ALL would log every Map iteration's states on each hourly run, and execution data would copy workspace names and errors out of the access-controlled execution history.",
    });
    if (!props.tracingEnabled) {
      Validations.of(this.stateMachine).acknowledge({
        id: 'AwsSolutions-SF2',
        reason:
          'X-Ray tracing is optional (context sender-sync:tracingEnabled); the execution history and the ERROR logs cover an hourly batch job.',
      });
    }
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) and X-Ray trace writes do not support resource-level permissions; AWS requires Resource "*" for them.',
    });
    // CDK's LambdaInvoke grants lambda:InvokeFunction on each function and its ":*"
    // qualifiers (versions and aliases); cdk-nag names each one by logical id.
    for (const fn of Object.values(props.functions)) {
      const resource = fn.node.defaultChild;
      if (!CfnElement.isCfnElement(resource)) continue;
      const logicalId = Stack.of(this).resolve(resource.logicalId);
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: 'Invoking a task function by version or alias (":*") is what the LambdaInvoke grant covers; no other function matches.',
      });
    }
  }
}
