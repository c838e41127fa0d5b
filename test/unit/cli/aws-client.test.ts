import { describe, expect, it } from 'vitest';
import { sfnClient } from '../../../cli/aws';
import { awsClientOptions } from '../../../lambdas/runtime/aws-sdk';

describe("the CLI's AWS SDK clients", () => {
  it('build the Step Functions client with the connect and request bounds', async () => {
    // The handler resolves its options on first use; configProvider is that promise (no request, no credentials needed).
    const handler = (await sfnClient()).config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    expect(await handler.configProvider).toMatchObject(awsClientOptions().requestHandler);
  });
});
