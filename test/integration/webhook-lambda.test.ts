import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { deliveryPath } from '../../lambdas/webhooks/token';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { createTestDatabase } from '../helpers/database';

/* The Lambda behind the Function URL: the URL's event (base64 bodies included) in, the receiver's answer out; its logs hold no token. */
const db = await createTestDatabase();
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-secret-AbCdEf';
const SECRET = 'lambda-test-master-secret-0123456789abcdef';

afterAll(() => vi.unstubAllEnvs());

function urlEvent(path: string, body: string, base64 = false): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path } } as APIGatewayProxyEventV2['requestContext'],
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  };
}

describe('the webhook receiver Lambda', () => {
  it('applies a delivery from the Function URL event and answers 404 to a wrong token, logging neither token nor body', async () => {
    const workspace = await upsertWorkspace(db.sql, {
      name: 'Lambda Co',
      baseUrl: 'http://sim.invalid',
      apiKeyRef: 'env:UNUSED',
      emailbisonWorkspaceId: 61,
    });
    const path = deliveryPath(SECRET, { workspaceId: workspace.id, emailbisonWorkspaceId: 61 });
    await db.sql`
      insert into sender_emails (workspace_id, emailbison_id, email, status, raw)
      values (${workspace.id}, 501, 'one@lambda.example', 'Connected', '{}')
    `;
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: SECRET });
    vi.stubEnv('WEBHOOK_SECRET_ARN', SECRET_ARN);
    vi.stubEnv('DATABASE_URL', db.url);
    vi.stubEnv('DATABASE_SSL', 'disable');
    vi.stubEnv('DATABASE_SECRET_ARN', '');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const written: string[] = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const { handler } = await import('../../lambdas/webhook-receiver/handler');
      const body = JSON.stringify({
        event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_id: 61 },
        data: { sender_email: { id: 501, email: 'one@lambda.example', status: 'Not connected', name: 'BODY-MARKER' } },
      });
      const applied = await handler(urlEvent(path, body, true));
      expect(applied).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
      expect(JSON.parse(applied.body as string)).toMatchObject({ ok: true, outcome: 'applied', field: 'status' });
      const wrong = await handler(urlEvent(`${path}0`, body));
      expect(wrong.statusCode).toBe(404);
      const malformed = await handler(urlEvent(path, '{"BODY-MARKER"'));
      expect(malformed.statusCode).toBe(400);
    } finally {
      out.mockRestore();
      err.mockRestore();
      sm.restore();
    }
    const [row] = await db.sql<
      { status: string }[]
    >`select status from sender_emails where workspace_id = ${workspace.id} and emailbison_id = 501`;
    expect(row.status).toBe('Not connected');
    const logs = written.join('');
    expect(logs).toContain('webhook delivery');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(path.split('/').pop());
    expect(logs).not.toContain('BODY-MARKER');
  });
});
