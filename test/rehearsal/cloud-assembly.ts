import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildApp } from '../../infra/build-app';
import type { AslDefinition } from '../../state-machine/synthesize';

/*
 * The stack as `cdk synth` writes it, read back the way CloudFormation and Lambda would:
 * each function's code is the asset its Code.S3Key names, its environment is the
 * template's Environment.Variables with every Ref resolved to what the deployed stack
 * would hold, and the state machine is its DefinitionString with the function ARNs filled in.
 */

/** Where the rehearsal pretends to be deployed: any account and region, fixed so ARNs are predictable. */
export const REHEARSAL_ACCOUNT = '123456789012';
export const REHEARSAL_REGION = 'eu-west-1';

export interface SynthesizedFunction {
  logicalId: string;
  /** Its construct path, e.g. SenderSync/Functions/StartJob/Resource. */
  constructPath: string;
  /** The physical name a deploy would give it (the rehearsal's choice: the logical id). */
  functionName: string;
  functionArn: string;
  /** cdk.out/asset.<hash>: the directory CDK zips and uploads for it. */
  assetDir: string;
  /** `index.handler` (file index.mjs, export handler). */
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memorySize: number;
  environment: Record<string, string>;
}

export interface SynthesizedStack {
  template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }> };
  functions: SynthesizedFunction[];
  /** The state machine as deployed, function ARNs filled in. */
  definition: AslDefinition;
  /** Logical id of each created secret → the ARN the rehearsal's Secrets Manager answers for it. */
  secretArns: Map<string, string>;
}

type Resolve = (logicalId: string) => string;

/** queueUrl: where a queue's Ref (its URL) points; default the URL a deploy would give it. */
export function synthesizeStack(
  outdir: string,
  context: Record<string, unknown> = {},
  options: { queueUrl?: (logicalId: string) => string } = {},
): SynthesizedStack {
  // cdk-nag and CDK's CloudFormation validation have their own tests (test/infra); the rehearsal needs the bundles.
  const { app, stack } = buildApp({
    outdir,
    // Construct paths in the template's metadata, as the CDK CLI writes them.
    context: { 'aws:cdk:enable-path-metadata': true, ...context },
    nag: false,
    cloudFormationValidation: false,
  });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const template = artifact.template as SynthesizedStack['template'];
  const assetManifest = JSON.parse(readFileSync(path.join(outdir, `${stack.stackName}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string; packaging?: string } }>;
  };

  const resources = Object.entries(template.Resources);
  const secretArns = new Map(
    resources
      .filter(([, resource]) => resource.Type === 'AWS::SecretsManager::Secret')
      .map(([logicalId]) => [logicalId, `arn:aws:secretsmanager:${REHEARSAL_REGION}:${REHEARSAL_ACCOUNT}:secret:${logicalId}-AbCdEf`]),
  );
  const functionArn = (logicalId: string) => `arn:aws:lambda:${REHEARSAL_REGION}:${REHEARSAL_ACCOUNT}:function:${logicalId}`;
  // A topic's Ref is its ARN: the rehearsal's functions get one, and never reach SNS with it.
  const topicArns = new Map(
    resources
      .filter(([, resource]) => resource.Type === 'AWS::SNS::Topic')
      .map(([logicalId]) => [logicalId, `arn:aws:sns:${REHEARSAL_REGION}:${REHEARSAL_ACCOUNT}:${logicalId}`]),
  );
  // A queue's Ref is its URL.
  const queueUrls = new Map(
    resources
      .filter(([, resource]) => resource.Type === 'AWS::SQS::Queue')
      .map(([logicalId]) => [
        logicalId,
        options.queueUrl?.(logicalId) ?? `https://sqs.${REHEARSAL_REGION}.amazonaws.com/${REHEARSAL_ACCOUNT}/${logicalId}`,
      ]),
  );
  const ref: Resolve = (logicalId) => {
    const arn = secretArns.get(logicalId) ?? topicArns.get(logicalId) ?? queueUrls.get(logicalId);
    if (!arn) throw new Error(`The rehearsal cannot resolve Ref ${logicalId}: only created secrets, topics and queues are known`);
    return arn;
  };

  const functions: SynthesizedFunction[] = [];
  for (const [logicalId, resource] of resources) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const props = resource.Properties as {
      Code: { S3Key?: unknown };
      Handler: string;
      Runtime: string;
      Timeout?: number;
      MemorySize?: number;
      Environment?: { Variables?: Record<string, unknown> };
      Description?: string;
    };
    // The stack's own functions say so in their description; CDK's helpers (the trigger provider) are not rehearsed.
    if (typeof props.Code.S3Key !== 'string' || !String(props.Description ?? '').startsWith('sender-sync:')) continue;
    const hash = props.Code.S3Key.replace(/\.zip$/, '');
    const asset = assetManifest.files[hash];
    if (asset?.source.packaging !== 'zip')
      throw new Error(`Function ${logicalId}: S3Key ${props.Code.S3Key} is no zip asset of the manifest`);
    functions.push({
      logicalId,
      constructPath: String(resource.Metadata?.['aws:cdk:path'] ?? ''),
      functionName: logicalId,
      functionArn: functionArn(logicalId),
      assetDir: path.join(outdir, asset.source.path),
      handler: props.Handler,
      runtime: props.Runtime,
      timeoutSeconds: props.Timeout ?? 3,
      memorySize: props.MemorySize ?? 128,
      environment: Object.fromEntries(
        Object.entries(props.Environment?.Variables ?? {}).map(([name, value]) => [name, String(evaluate(value, ref, functionArn))]),
      ),
    });
  }

  const machines = resources.filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected one state machine in the template, found ${machines.length}`);
  const definitionString = evaluate(machines[0][1].Properties?.DefinitionString, ref, functionArn);
  if (typeof definitionString !== 'string') throw new Error('The state machine has no DefinitionString');
  return { template, functions, definition: JSON.parse(definitionString) as AslDefinition, secretArns };
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REHEARSAL_REGION,
  'AWS::AccountId': REHEARSAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** The intrinsics the functions' environments and the definition use; anything else fails loudly. */
function evaluate(value: unknown, ref: Resolve, functionArn: (logicalId: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => evaluate(item, ref, functionArn));
  if (!value || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const [key, ...rest] = Object.keys(record);
  if (rest.length === 0 && key === 'Fn::Join') {
    const [separator, parts] = record[key] as [string, unknown[]];
    return parts.map((part) => String(evaluate(part, ref, functionArn))).join(separator);
  }
  if (rest.length === 0 && key === 'Ref') {
    const name = String(record.Ref);
    return PSEUDO_PARAMETERS[name] ?? ref(name);
  }
  if (rest.length === 0 && key === 'Fn::GetAtt') {
    const [logicalId, attribute] = record[key] as [string, string];
    if (attribute !== 'Arn') throw new Error(`The rehearsal cannot resolve Fn::GetAtt ${logicalId}.${attribute}`);
    return functionArn(logicalId);
  }
  if (key?.startsWith('Fn::')) throw new Error(`The rehearsal cannot evaluate ${key}`);
  return Object.fromEntries(Object.entries(record).map(([name, item]) => [name, evaluate(item, ref, functionArn)]));
}
