import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './stand-in-server';

/*
 * A local stand-in of the AWS APIs the CLI calls, a real HTTP server speaking their JSON
 * protocols (the operation in X-Amz-Target, a JSON body, errors as {__type, message} with a
 * 400), for the bundled CLI run as a child process: the SDK goes there when
 * AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL_SECRETS_MANAGER name it (standInEnv). Step
 * Functions: StartExecution and DescribeExecution, an execution RUNNING until the test
 * ends it. Secrets Manager: GetSecretValue of the secrets the test puts.
 */
export const FAKE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIASTANDIN000000000',
  AWS_SECRET_ACCESS_KEY: 'stand-in-secret-access-key',
  AWS_REGION: 'eu-west-1',
} as const;

export interface StandInExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** DescribeExecution calls so far. */
  looks: number;
}

export interface AwsCall {
  target: string;
  body: Record<string, unknown>;
  /** The SigV4 Authorization header's credential scope: access key id, date, region, service. */
  credential: string | undefined;
}

export interface AwsStandIn {
  url: string;
  calls: AwsCall[];
  executions: Map<string, StandInExecution>;
  /** Called on each DescribeExecution before it answers: end the execution here (finish) after some looks. */
  onDescribe(handler: (execution: StandInExecution) => void): void;
  putSecret(arn: string, value: string): void;
  close(): Promise<void>;
}

/** Ends an execution as Step Functions would record it. */
export function finish(execution: StandInExecution, end: Partial<Pick<StandInExecution, 'status' | 'output' | 'error' | 'cause'>>): void {
  Object.assign(execution, { status: 'SUCCEEDED', ...end, stopDate: Date.now() / 1000 });
}

/** The environment that points the SDK of a child process at the stand-in, with fake credentials. */
export function standInEnv(standIn: AwsStandIn): Record<string, string> {
  return {
    ...FAKE_CREDENTIALS,
    AWS_ENDPOINT_URL_SFN: standIn.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.url,
    // Never a profile, SSO or instance metadata from the machine running the tests.
    AWS_PROFILE: '',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startAwsStandIn(): Promise<AwsStandIn> {
  const calls: AwsCall[] = [];
  const executions = new Map<string, StandInExecution>();
  const secrets = new Map<string, string>();
  let describeHook: (execution: StandInExecution) => void = () => {};

  const operations: Record<string, (body: Record<string, unknown>) => object> = {
    'AWSStepFunctions.StartExecution': (body) => {
      const stateMachineArn = String(body.stateMachineArn ?? '');
      const [, partition, , region, account, kind, machine] = stateMachineArn.split(':');
      if (kind !== 'stateMachine' || !machine) throw new AwsError('InvalidArn', `Invalid Arn: '${stateMachineArn}'`);
      const name = String(body.name ?? randomUUID());
      const executionArn = `arn:${partition}:states:${region}:${account}:execution:${machine}:${name}`;
      const startDate = Date.now() / 1000;
      executions.set(executionArn, {
        executionArn,
        stateMachineArn,
        name,
        input: String(body.input ?? '{}'),
        status: 'RUNNING',
        startDate,
        looks: 0,
      });
      return { executionArn, startDate };
    },
    'AWSStepFunctions.DescribeExecution': (body) => {
      const execution = executions.get(String(body.executionArn));
      if (!execution) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${body.executionArn}'`);
      execution.looks += 1;
      describeHook(execution);
      const { looks: _looks, ...described } = execution;
      return described;
    },
    'secretsmanager.GetSecretValue': (body) => {
      const arn = String(body.SecretId);
      const value = secrets.get(arn);
      if (value === undefined) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return { ARN: arn, Name: arn.split(':').at(-1), SecretString: value, VersionId: 'v1', CreatedDate: Date.now() / 1000 };
    },
  };

  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const contentType = target.startsWith('secretsmanager.') ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0';
    const send = (status: number, value: object) => {
      response.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': randomUUID() });
      response.end(JSON.stringify(value));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const credential = /Credential=([^,]+)/.exec(String(request.headers.authorization ?? ''))?.[1];
      calls.push({ target, body, credential });
      const operation = operations[target];
      if (request.method !== 'POST' || !operation) throw new AwsError('UnknownOperationException', `No operation ${target}`);
      send(200, operation(body));
    } catch (error) {
      if (error instanceof AwsError) send(400, { __type: error.type, message: error.message });
      else send(500, { __type: 'InternalFailure', message: String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    executions,
    onDescribe: (handler) => {
      describeHook = handler;
    },
    putSecret: (arn, value) => void secrets.set(arn, value),
    close: () => closeServer(server),
  };
}
