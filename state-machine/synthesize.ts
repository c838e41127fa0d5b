import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { rmSync } from 'node:fs';
import { TASK_NAMES, type TaskName } from '../lambdas/tasks';
import { LOCAL_ACCOUNT, LOCAL_REGION, type AslDefinition } from './asl';
import { STATE_MACHINE_COMMENT, buildSyncDefinition, type SyncTaskFunctions } from './definition';

export {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  LOCAL_STATE_MACHINE_ARN,
  LOCAL_STATE_MACHINE_NAME,
  LOCALLY_IGNORED_FIELDS,
  findLocallyIgnoredFeatures,
  type AslDefinition,
} from './asl';

export interface SynthesizeOptions {
  /** Workspaces synced at once by the Map state. Default 3, as deployed. */
  mapConcurrency?: number;
  /** The execution timeout (TimeoutSeconds). Default 2 hours, as deployed. */
  runTimeout?: Duration;
}

/**
 * The ASL the stack deploys, built by the same CDK code in a throwaway stack whose task
 * functions are placeholders named after their task.
 */
export function synthesizeDefinition(options: SynthesizeOptions = {}): AslDefinition {
  const app = new App();
  // The App makes a cdk.out directory under the temp dir at construction; nothing is written to it.
  rmSync(app.outdir, { recursive: true, force: true });
  const stack = new Stack(app, 'LocalDefinition', { env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION } });
  const placeholder = (task: TaskName) =>
    lambda.Function.fromFunctionArn(stack, task, `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:sender-sync-${task}`);
  const functions = Object.fromEntries(TASK_NAMES.map((task) => [task, placeholder(task)])) as SyncTaskFunctions;
  const stateMachine = new sfn.StateMachine(stack, 'StateMachine', {
    comment: STATE_MACHINE_COMMENT,
    definitionBody: buildSyncDefinition(stack, { functions, mapConcurrency: options.mapConcurrency ?? 3 }),
    timeout: options.runTimeout ?? Duration.hours(2),
  });
  const cfn = stateMachine.node.defaultChild as sfn.CfnStateMachine;
  const definition = evaluateIntrinsics(stack.resolve(cfn.definitionString));
  if (typeof definition !== 'string') throw new Error('The synthesized definition is not a string');
  return JSON.parse(definition) as AslDefinition;
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Evaluates the few CloudFormation intrinsics a resolved definition can hold with literal ARNs. */
function evaluateIntrinsics(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(evaluateIntrinsics);
  if (!value || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(evaluateIntrinsics(part))).join(separator);
  }
  if (keys.length === 1 && keys[0] === 'Ref') {
    const name = String(record.Ref);
    if (!(name in PSEUDO_PARAMETERS)) throw new Error(`The local definition refers to ${name}, which only exists in a deployed stack`);
    return PSEUDO_PARAMETERS[name];
  }
  if (keys.some((key) => key.startsWith('Fn::'))) throw new Error(`Cannot evaluate ${keys.join(', ')} in the local definition`);
  return Object.fromEntries(keys.map((key) => [key, evaluateIntrinsics(record[key])]));
}
