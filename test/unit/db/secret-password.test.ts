import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { REAUTHENTICATED_MESSAGE, secretPassword } from '../../../lambdas/db/part';
import { createSecretResolver } from '../../../lambdas/secrets/resolve';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf';

describe('the database password of a secret that rotates', () => {
  it('is read from the cache as connections open, read afresh once after a refusal, and the re-authentication logged once', async () => {
    const sm = mockClient(SecretsManagerClient);
    let password = 'before-rotation';
    sm.on(GetSecretValueCommand, { SecretId: ARN }).callsFake(async () => ({
      SecretString: JSON.stringify({ username: 'sync', password }),
    }));
    let clock = 0;
    const secrets = createSecretResolver({ secretsManager: new SecretsManagerClient({}), ttlSeconds: 300, now: () => clock });
    const lines: string[] = [];
    const source = secretPassword(
      secrets,
      `aws-sm:${ARN}`,
      (line) => lines.push(line),
      () => clock,
    );

    expect(await source.read()).toBe('before-rotation');
    expect(await source.read()).toBe('before-rotation');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    password = 'after-rotation';
    expect(await source.read()).toBe('before-rotation'); // cached: the server will refuse it
    // Three connections of the pool refused together: one fresh read between them.
    source.refresh();
    source.refresh();
    clock += 1_000;
    source.refresh();
    expect(await source.read()).toBe('after-rotation');
    expect(await source.read()).toBe('after-rotation');
    source.refreshed?.();
    source.refreshed?.();
    source.refreshed?.();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(lines).toEqual([REAUTHENTICATED_MESSAGE]);

    // The next rotation, a week later, is read afresh and logged again.
    password = 'next-week';
    clock += 7 * 86_400_000;
    source.refresh();
    expect(await source.read()).toBe('next-week');
    source.refreshed?.();
    expect(lines).toEqual([REAUTHENTICATED_MESSAGE, REAUTHENTICATED_MESSAGE]);
    expect(lines.join('')).not.toMatch(/rotation|next-week/);
    sm.restore();
  });
});
