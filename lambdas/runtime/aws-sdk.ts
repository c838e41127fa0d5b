import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SETTINGS } from '../config/settings';

export interface AwsClientTimeouts {
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface AwsRequestHandlerOptions {
  connectionTimeout: number;
  requestTimeout: number;
  throwOnRequestTimeout: boolean;
  socketTimeout: number;
}

/*
 * Options every AWS SDK client of sender-sync is built with. Without them the SDK waits
 * for a TCP connect as long as the OS does: in a VPC with no route to Secrets Manager
 * (no NAT, no endpoint) each function hung until its Lambda timeout and the migration
 * trigger rolled the deploy back with no cause.
 *
 * The handler options are a plain object, which the SDK turns into its own
 * NodeHttpHandler: the Lambdas use the runtime's SDK (not bundled), so no handler class
 * of ours is mixed into it. The request bound is given twice because the SDK's meaning
 * moved: in current @smithy/node-http-handler `requestTimeout` only logs a warning unless
 * `throwOnRequestTimeout` is set, and `socketTimeout` (inactivity) is what throws; in the
 * versions some Lambda runtimes carry, `requestTimeout` is that socket timeout and the
 * other two are ignored.
 */
export function awsClientOptions(timeouts: AwsClientTimeouts = {}): { requestHandler: AwsRequestHandlerOptions } {
  const requestTimeout = timeouts.requestTimeoutMs ?? SETTINGS.awsRequestTimeoutMs.default;
  return {
    requestHandler: {
      connectionTimeout: timeouts.connectTimeoutMs ?? SETTINGS.awsConnectTimeoutMs.default,
      requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeout,
    },
  };
}

/**
 * A Secrets Manager client for the CLI and local runs, built (and its SDK loaded) on first
 * use: a run whose keys are all in the local file or the environment never loads the SDK.
 */
export function lazySecretsManager(): Pick<SecretsManagerClient, 'send'> {
  let client: SecretsManagerClient | undefined;
  return {
    send: async (command: Parameters<SecretsManagerClient['send']>[0]) => {
      const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
      return (client ??= new SecretsManagerClient(awsClientOptions())).send(command);
    },
  } as Pick<SecretsManagerClient, 'send'>;
}
