import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { awsClientOptions } from '../lambdas/runtime/aws-sdk';

const clients = new Map<string, SFNClient>();

/**
 * One client per region per process, in the region of the ARN it is for (a state machine's
 * or execution's ARN names it: arn:aws:states:<region>:...), so `trigger` needs no
 * AWS_REGION. Tests replace it at the SDK boundary with aws-sdk-client-mock.
 */
export function sfnClient(region?: string): SFNClient {
  const key = region ?? '';
  let client = clients.get(key);
  if (!client) {
    client = new SFNClient({ ...awsClientOptions(), ...(region ? { region } : {}) });
    clients.set(key, client);
  }
  return client;
}

/** The region of an ARN (arn:partition:service:region:account:...), if it names one. */
export function regionOf(arn: string): string | undefined {
  const [prefix, , , region] = arn.split(':');
  return prefix === 'arn' && region ? region : undefined;
}

export function executionConsoleUrl(executionArn: string): string {
  const region = regionOf(executionArn) ?? 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** The execution's status, or why it could not be read (local run, no credentials, no access). */
export async function describeExecution(
  executionArn: string,
): Promise<{ status: string; stopDate?: Date; error?: string; cause?: string; output?: string } | { unavailable: string }> {
  if (regionOf(executionArn) === 'local') return { unavailable: 'local run (no AWS execution)' };
  try {
    const result = await sfnClient(regionOf(executionArn)).send(new DescribeExecutionCommand({ executionArn }));
    return {
      status: result.status ?? 'UNKNOWN',
      stopDate: result.stopDate,
      error: result.error,
      cause: result.cause,
      output: result.output,
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    if (name === 'CredentialsProviderError') return { unavailable: 'no AWS credentials' };
    return { unavailable: `${name}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export async function startExecution(stateMachineArn: string, input: object): Promise<{ executionArn: string; startDate?: Date }> {
  const result = await sfnClient(regionOf(stateMachineArn)).send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  if (!result.executionArn) throw new Error('StartExecution returned no execution ARN.');
  return { executionArn: result.executionArn, startDate: result.startDate };
}
