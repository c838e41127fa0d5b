import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql } from '../../lambdas/db/client';
import type { TaskLog } from '../../lambdas/runtime/deps';
import { startLocalReceiver, type LocalReceiver } from '../../lambdas/webhook-receiver/node-server';
import { createWebhookReceiver, MAX_BODY_BYTES } from '../../lambdas/webhook-receiver/receive';
import { createWebhookApplier } from '../../lambdas/webhook-applier/applier';
import { encodeIntakeMessage } from '../../lambdas/webhooks/intake';
import { startLocalIntake, type LocalIntake } from '../../local/intake-queue';
import type { ChangesMessage } from '../../lambdas/webhooks/publish';
import { deliveryPath, workspaceToken } from '../../lambdas/webhooks/token';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { createTestDatabase } from '../helpers/database';

/*
 * What a stranger can do to the receiver: guess a token (404, whatever the guess), send a
 * huge or broken body (413, 400, the body never logged), or hostile fields (stored
 * verbatim, as data). Neither the master secret nor a workspace's token appears in any log
 * line, table, answer or published message.
 */
const db = await createTestDatabase();
const SECRET = `SENTINEL-WEBHOOK-SECRET-${randomBytes(8).toString('hex')}`;
let TOKEN: string;
/** The workspace's own path: /emailbison/<id>/7001/<its token>. */
let PATH: string;
const BODY_MARKER = `BODY-MARKER-${randomBytes(4).toString('hex')}`;
const logLines: string[] = [];
const published: ChangesMessage[] = [];
const answers: string[] = [];
let receiver: LocalReceiver;
let intake: LocalIntake;
let workspaceId: number;

const capturingLog: TaskLog = {
  info: (message, fields) => void logLines.push(`INFO ${message} ${JSON.stringify(fields ?? {})}`),
  warn: (message, fields) => void logLines.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => void logLines.push(`ERROR ${message} ${JSON.stringify(fields ?? {})}`),
  setContext: () => {},
};

function event(type: string, senderEmail: Record<string, unknown>, workspace = 7001) {
  return JSON.stringify({
    event: { type, name: type, instance_url: 'http://sim.invalid', workspace_id: workspace, workspace_name: 'Hostile Co' },
    data: { sender_email: senderEmail },
  });
}

async function deliver(path: string, body: string | Buffer, method = 'POST') {
  const response = await fetch(`${receiver.url}${path}`, { method, body: method === 'GET' ? undefined : body });
  const text = await response.text();
  answers.push(text);
  // What was accepted is applied before the test looks (the applier works behind the answer).
  await intake.drain();
  return { status: response.status, text };
}

beforeAll(async () => {
  ({ id: workspaceId } = await upsertWorkspace(db.sql, {
    name: 'Hostile Co',
    baseUrl: 'http://sim.invalid',
    apiKeyRef: 'env:UNUSED_KEY',
    emailbisonWorkspaceId: 7001,
  }));
  TOKEN = workspaceToken(SECRET, { workspaceId, emailbisonWorkspaceId: 7001 });
  PATH = deliveryPath(SECRET, { workspaceId, emailbisonWorkspaceId: 7001 });
  const applier = createWebhookApplier({
    sql: db.sql,
    log: capturingLog,
    publisher: { publish: async (message) => void published.push(message) },
    timing: { gatherSeconds: 0 },
  });
  intake = startLocalIntake(applier, { log: capturingLog });
  receiver = await startLocalReceiver(createWebhookReceiver({ webhookSecret: async () => SECRET, queue: intake.queue, log: capturingLog }));
});

afterAll(async () => {
  await receiver?.close();
  await intake?.close();
});

describe('the webhook receiver against strangers', () => {
  it('answers 404 to a wrong, partial, extended, borrowed or missing token, before looking at the method or the body', async () => {
    const body = event('EMAIL_ACCOUNT_DISCONNECTED', { id: 1, email: 'a@example.com', status: 'Not connected' });
    const guesses = [
      `/emailbison/${workspaceId}/7001/${TOKEN.slice(0, -1)}`,
      `/emailbison/${workspaceId}/7001/${TOKEN}x`,
      `/emailbison/${workspaceId}/7001/${TOKEN.toLowerCase()}`,
      `/emailbison/${workspaceId}/7001/${SECRET}`,
      `/emailbison/${workspaceId + 1}/7001/${TOKEN}`,
      `/emailbison/${workspaceId}/7002/${TOKEN}`,
      `/emailbison/0${workspaceId}/7001/${TOKEN}`,
      `/emailbison/${workspaceId}/7001/`,
      `/emailbison/${workspaceId}/7001`,
      `/emailbison/${TOKEN}/${workspaceId}`,
      `/emailbison/${TOKEN}`,
      `/emailbison/${SECRET}`,
      `/emailbison/${SECRET}/${workspaceId}`,
      '/emailbison/',
      '/emailbison',
      `/${TOKEN}`,
      `${PATH}/extra`,
      '/',
    ];
    for (const path of guesses) expect((await deliver(path, body)).status, path).toBe(404);
    expect((await deliver(`${PATH.slice(0, -1)}`, 'x'.repeat(MAX_BODY_BYTES + 10))).status).toBe(404);
    expect((await deliver(`${PATH}x`, '', 'GET')).status).toBe(404);
    expect((await deliver(PATH, '', 'GET')).status).toBe(405);
    // A workspace no row has, with its own token: accepted (the receiver opens no database), then refused by the applier, nothing applied.
    const gone = deliveryPath(SECRET, { workspaceId: 999_999, emailbisonWorkspaceId: 7001 });
    expect((await deliver(gone, body)).status).toBe(200);
    expect(logLines.some((line) => line.includes('webhook delivery refused') && line.includes('unknown'))).toBe(true);
  });

  it('answers 413 to a body over 256 KiB, and reads one of exactly 256 KiB', async () => {
    const over = await deliver(PATH, Buffer.alloc(MAX_BODY_BYTES + 1, 0x20));
    expect(over.status).toBe(413);
    const json = event('EMAIL_ACCOUNT_DISCONNECTED', { id: 1, email: 'a@example.com', status: 'Not connected' });
    const exact = await deliver(PATH, json.padEnd(MAX_BODY_BYTES, ' '));
    expect(exact.status).toBe(200);
    const big = await deliver(PATH, Buffer.alloc(5 * 1024 * 1024, 0x20));
    expect(big.status).toBe(413);
  });

  it('answers 400 to what is not JSON or not an account event, and never logs the body', async () => {
    const path = PATH;
    const bodies = [
      `{"event": ${BODY_MARKER}`,
      JSON.stringify([BODY_MARKER]),
      JSON.stringify({ marker: BODY_MARKER }),
      JSON.stringify({ event: { type: BODY_MARKER }, data: {} }),
      JSON.stringify({ event: { type: 'EMAIL_ACCOUNT_DISCONNECTED' }, data: { sender_email: { id: BODY_MARKER } } }),
      JSON.stringify({ event: { type: 'email_account_added' }, data: { sender_email: { id: 5, name: BODY_MARKER } } }),
      JSON.stringify({ event: { type: 'TAG_ATTACHED' }, data: { tag: { id: 1, name: BODY_MARKER } } }),
      '',
    ];
    for (const body of bodies) {
      const answer = await deliver(path, body);
      expect(answer.status, body.slice(0, 80)).toBe(400);
      expect(answer.text).not.toContain(BODY_MARKER);
    }
    expect(logLines.filter((line) => line.includes('malformed'))).toHaveLength(bodies.length);
    expect(logLines.join('\n')).not.toContain(BODY_MARKER);
  });

  it('stores SQL-hostile and 10 KB fields verbatim', async () => {
    const hostileEmail = `x'); drop table sender_emails; --"\\@example.com`;
    const longName = `${"Robert'); DROP TABLE workspaces;-- ".repeat(300)}\u0000-free ünïcødé 🚀`.replace('\u0000', '').slice(0, 10_240);
    const signature = `<script>alert(1)</script>$1 \${x} '' "" \\ ; -- /* */`.repeat(200);
    const body = event('email_account_added', {
      id: 424242,
      email: hostileEmail,
      name: longName,
      status: "Connected'; --",
      email_signature: signature,
      emails_sent: 3,
      updated_at: '2026-12-01T10:00:00.000000Z',
    });
    const answer = await deliver(PATH, body);
    expect(answer.status, answer.text).toBe(200);
    const [row] = await db.sql<
      { email: string; name: string; status: string; email_signature: string; emails_sent_count: number; raw: Record<string, unknown> }[]
    >`
      select email, name, status, email_signature, emails_sent_count, raw from sender_emails
      where workspace_id = ${workspaceId} and emailbison_id = 424242
    `;
    expect(row).toMatchObject({
      email: hostileEmail,
      name: longName,
      status: "Connected'; --",
      email_signature: signature,
      emails_sent_count: 3,
    });
    expect(longName.length).toBeGreaterThanOrEqual(10_000);
    expect(row.raw.name).toBe(longName);
    const [{ tables }] = await db.sql<
      { tables: number }[]
    >`select count(*)::int as tables from pg_tables where tablename in ('sender_emails', 'workspaces')`;
    expect(tables).toBe(2);
    const [change] = await db.sql<{ email: string; new_value: string }[]>`
      select email, new_value from sender_email_changes where workspace_id = ${workspaceId} and emailbison_id = 424242
    `;
    expect(change).toEqual({ email: hostileEmail, new_value: "Connected'; --" });
  });

  it('puts neither the master secret nor the token in any log line, table, answer or published message', async () => {
    // A disconnect that is published, so the ChangesTopic message is checked too.
    await deliver(
      PATH,
      event('EMAIL_ACCOUNT_DISCONNECTED', { id: 424242, status: 'Not connected', updated_at: '2026-12-01T11:00:00.000000Z' }),
    );
    expect(published.length).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(10);
    const tables = await db.sql<{ dump: string }[]>`
      select concat_ws(' ',
        (select json_agg(t)::text from sender_email_changes t),
        (select json_agg(t)::text from sender_emails t),
        (select json_agg(t)::text from webhook_publish_state t),
        (select json_agg(t)::text from workspaces t)) as dump
    `;
    for (const [where, text] of [
      ['log', logLines.join('\n')],
      ['tables', tables[0].dump],
      ['answers', answers.join('\n')],
      ['published messages', JSON.stringify(published)],
    ]) {
      expect(text.includes(TOKEN), `${where} contain the token`).toBe(false);
      expect(text.includes(SECRET), `${where} contain the master secret`).toBe(false);
    }
  });

  it('answers 503 with Retry-After when the intake queue cannot take a delivery, so EmailBison retries', async () => {
    const full = createWebhookReceiver({
      webhookSecret: async () => SECRET,
      queue: startLocalIntake(async () => ({ failed: [], tally: {}, dueAt: [], ticks: [] }), { log: capturingLog, maxQueued: 0 }).queue,
      log: capturingLog,
    });
    const answer = await full({
      method: 'POST',
      path: deliveryPath(SECRET, { workspaceId: 1, emailbisonWorkspaceId: 7001 }),
      body: event('EMAIL_ACCOUNT_DISCONNECTED', { id: 1, status: 'Not connected' }),
    });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    const tokenless = await full({ method: 'POST', path: '/emailbison/1/7001/wrong', body: '{}' });
    expect(tokenless.status).toBe(404);
  });

  it('has the applier report every delivery of a batch for a retry when Postgres cannot be reached', async () => {
    const dead = createSql({ url: 'postgres://nobody@127.0.0.1:1/none', ssl: 'disable', max: 1, connectTimeoutSeconds: 2 });
    const applier = createWebhookApplier({ sql: dead, log: capturingLog });
    const message = (id: number) =>
      encodeIntakeMessage({
        kind: 'delivery',
        target: { workspaceId: 1, emailbisonWorkspaceId: 7001 },
        body: event('EMAIL_ACCOUNT_DISCONNECTED', { id, status: 'Not connected' }),
        receivedAt: new Date().toISOString(),
      });
    const outcome = await applier([
      { id: 'a', body: message(1) },
      { id: 'b', body: message(2) },
    ]);
    await dead.end({ timeout: 1 });
    expect(outcome.failed).toEqual(['a', 'b']);
  });
});
