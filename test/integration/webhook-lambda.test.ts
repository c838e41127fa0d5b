import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { deliveryPath } from '../../lambdas/webhooks/token';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { createTestDatabase } from '../helpers/database';

/*
 * The two Lambdas of the intake: the receiver behind the Function URL (the URL's event,
 * base64 bodies included, in; one SQS SendMessage and the answer out; no database), and the
 * applier fed by the queue's event source mapping (an SQS event in, batchItemFailures out).
 * Their logs hold neither the token nor the body.
 */
const db = await createTestDatabase();
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-secret-AbCdEf';
const SECRET = 'lambda-test-master-secret-0123456789abcdef';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/intake';

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

function sqsEvent(bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:intake',
      awsRegion: 'eu-west-1',
    })),
  };
}

describe('the webhook receiver and applier Lambdas', () => {
  it("queue a delivery from the Function URL event (404 to a wrong token, 409 to another workspace's event), then apply it from the SQS event, logging neither token nor body", async () => {
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
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageCommand).resolves({ MessageId: 'sent' });
    vi.stubEnv('WEBHOOK_SECRET_ARN', SECRET_ARN);
    vi.stubEnv('WEBHOOK_QUEUE_URL', QUEUE_URL);
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    // The receiver gets no database at all: a connection attempt would fail loudly.
    vi.stubEnv('DATABASE_URL', 'postgres://nobody@127.0.0.1:1/none');
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
      const { handler: receive } = await import('../../lambdas/webhook-receiver/handler');
      const body = JSON.stringify({
        event: { type: 'EMAIL_ACCOUNT_DISCONNECTED', workspace_id: 61 },
        data: { sender_email: { id: 501, email: 'one@lambda.example', status: 'Not connected', name: 'BODY-MARKER' } },
      });
      const accepted = await receive(urlEvent(path, body, true));
      expect(accepted).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
      expect(JSON.parse(accepted.body as string)).toEqual({ ok: true, accepted: true });
      expect((await receive(urlEvent(`${path}0`, body))).statusCode).toBe(404);
      expect((await receive(urlEvent(path, '{"BODY-MARKER"'))).statusCode).toBe(400);
      // Another EmailBison workspace's event on this path: refused before the queue.
      expect((await receive(urlEvent(path, body.replace('"workspace_id":61', '"workspace_id":62')))).statusCode).toBe(409);
      const sent = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
      expect(sent).toHaveLength(1);
      expect(sent[0].QueueUrl).toBe(QUEUE_URL);
      expect(sent[0].MessageBody).not.toContain(path.split('/').pop());
      expect(JSON.parse(sent[0].MessageBody!)).toMatchObject({
        kind: 'delivery',
        target: { workspaceId: workspace.id, emailbisonWorkspaceId: 61 },
        receivedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      });
      const [{ status: untouched }] = await db.sql<{ status: string }[]>`
        select status from sender_emails where workspace_id = ${workspace.id} and emailbison_id = 501
      `;
      expect(untouched).toBe('Connected');

      // The applier, as the event source mapping calls it: the queued message, and one that is none of ours.
      vi.stubEnv('DATABASE_URL', db.url);
      vi.stubEnv('DATABASE_SSL', 'disable');
      vi.stubEnv('DATABASE_SECRET_ARN', '');
      const { handler: apply } = await import('../../lambdas/webhook-applier/handler');
      const result = await apply(sqsEvent([sent[0].MessageBody!, 'not a queued delivery']));
      expect(result).toEqual({ batchItemFailures: [] });
    } finally {
      out.mockRestore();
      err.mockRestore();
      sm.restore();
      sqs.restore();
    }
    const [row] = await db.sql<{ status: string }[]>`
      select status from sender_emails where workspace_id = ${workspace.id} and emailbison_id = 501
    `;
    expect(row.status).toBe('Not connected');
    const logs = written.join('');
    expect(logs).toContain('webhook batch');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(path.split('/').pop());
    expect(logs).not.toContain('BODY-MARKER');
  });
});
