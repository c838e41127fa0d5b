import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskLog } from '../../lambdas/runtime/deps';
import { startLocalReceiver, type LocalReceiver } from '../../lambdas/webhook-receiver/node-server';
import { deliveryPath, newWebhookSecret, workspaceToken } from '../../lambdas/webhooks/token';
import { upsertWorkspace } from '../../lambdas/workspaces/registry';
import { createTestDatabase } from '../helpers/database';
import { createSettledReceiver } from '../helpers/webhook-intake';

/*
 * Issue 19, items 4 and 5, against the receiver on node http, its queue settled by the real
 * applier on a real Postgres (test/helpers/webhook-intake.ts):
 * - one workspace's URL (what its client can read in EmailBison) cannot deliver another
 *   workspace's events, nor events that do not say which workspace they are of (409);
 * - each poison delivery that once answered 500 forever answers 4xx before anything is
 *   queued, and changes nothing: not the rows, not the change history;
 * - what only Postgres can tell (the workspace's key now another EmailBison workspace's, a
 *   value it refuses) the applier drops and logs: never a batch failure retried forever.
 */
const db = await createTestDatabase();
const SECRET = newWebhookSecret();
const logLines: string[] = [];
const log: TaskLog = {
  info: (message, fields) => void logLines.push(`INFO ${message} ${JSON.stringify(fields ?? {})}`),
  warn: (message, fields) => void logLines.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => void logLines.push(`ERROR ${message} ${JSON.stringify(fields ?? {})}`),
  setContext: () => {},
};
let receiver: LocalReceiver;
let queued = 0;
const settle = createSettledReceiver(db.sql, { webhookSecret: SECRET, log, onQueued: () => void (queued += 1) });
const acme = { id: 0, emailbisonId: 8101 };
const bolt = { id: 0, emailbisonId: 8102 };
const ACCOUNT = 5001;

function delivery(type: string, senderEmail: Record<string, unknown>, event: Record<string, unknown> = {}) {
  return JSON.stringify({
    event: { type, name: type, instance_url: 'https://send.example.com', workspace_id: acme.emailbisonId, ...event },
    data: { sender_email: { id: ACCOUNT, ...senderEmail } },
  });
}

async function post(path: string, body: string) {
  const response = await fetch(`${receiver.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, body: await response.text() };
}

const pathOf = (workspace: typeof acme) =>
  deliveryPath(SECRET, { workspaceId: workspace.id, emailbisonWorkspaceId: workspace.emailbisonId });

/** Every account row and every change row: what "changes nothing" is measured against. */
async function snapshot() {
  const rows = await db.sql`select * from sender_emails order by workspace_id, emailbison_id`;
  const changes = await db.sql`select * from sender_email_changes order by id`;
  return JSON.stringify({ rows, changes });
}

beforeAll(async () => {
  for (const [workspace, name] of [
    [acme, 'Acme'],
    [bolt, 'Bolt'],
  ] as const) {
    ({ id: workspace.id } = await upsertWorkspace(db.sql, {
      name,
      baseUrl: 'https://send.example.com',
      apiKeyRef: 'env:UNUSED',
      emailbisonWorkspaceId: workspace.emailbisonId,
    }));
    await db.sql`
      insert into sender_emails (workspace_id, emailbison_id, email, status, tags, raw)
      values (${workspace.id}, ${ACCOUNT}, ${`inbox@${name.toLowerCase()}.example`}, 'Connected', '[{"id": 1, "name": "Warm"}]',
              '{"tags": [{"id": 1, "name": "Warm"}]}')
    `;
  }
  receiver = await startLocalReceiver(settle);
});

afterAll(async () => {
  await receiver?.close();
});

describe("a workspace's URL", () => {
  it("cannot deliver another workspace's events: 409 for its EmailBison workspace id, 404 for its path with this token", async () => {
    const before = await snapshot();
    const queuedBefore = queued;
    const forged = delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected' }, { workspace_id: bolt.emailbisonId });
    const onAcme = await post(pathOf(acme), forged);
    expect(onAcme.status).toBe(409);
    expect(onAcme.body).toContain(`EmailBison workspace ${bolt.emailbisonId}`);
    // Acme's token on Bolt's path (its id, its EmailBison id, or both): the token opens Acme's path only.
    const acmeToken = workspaceToken(SECRET, { workspaceId: acme.id, emailbisonWorkspaceId: acme.emailbisonId });
    for (const path of [
      `/emailbison/${bolt.id}/${bolt.emailbisonId}/${acmeToken}`,
      `/emailbison/${bolt.id}/${acme.emailbisonId}/${acmeToken}`,
      `/emailbison/${acme.id}/${bolt.emailbisonId}/${acmeToken}`,
    ]) {
      expect((await post(path, forged)).status, path).toBe(404);
    }
    expect(await snapshot()).toBe(before);
    expect(queued, 'nothing refused reached the queue').toBe(queuedBefore);
    // Bolt's own URL takes it.
    expect((await post(pathOf(bolt), forged)).status).toBe(200);
    const [row] = await db.sql<
      { status: string }[]
    >`select status from sender_emails where workspace_id = ${bolt.id} and emailbison_id = ${ACCOUNT}`;
    expect(row.status).toBe('Not connected');
  });

  it('refuses (409) an event that leaves out event.workspace_id, or sends null, and applies nothing', async () => {
    const before = await snapshot();
    const queuedBefore = queued;
    for (const event of [{ workspace_id: undefined }, { workspace_id: null }]) {
      const answer = await post(pathOf(acme), delivery('EMAIL_ACCOUNT_REMOVED', {}, event));
      expect(answer.status).toBe(409);
      expect(answer.body).toContain('no event.workspace_id');
    }
    const testEventShape = JSON.stringify({ data: { event: { type: 'EMAIL_ACCOUNT_REMOVED' }, data: { sender_email: { id: ACCOUNT } } } });
    expect((await post(pathOf(acme), testEventShape)).status).toBe(409);
    expect(await snapshot()).toBe(before);
    expect(queued).toBe(queuedBefore);
  });
});

describe('poison deliveries', () => {
  const deep = `${'['.repeat(80_000)}${']'.repeat(80_000)}`;
  const poison: [string, string][] = [
    [
      'a NUL in an added account’s email',
      delivery('EMAIL_ACCOUNT_ADDED', { id: 6001, email: 'nul\u0000@acme.example', status: 'Connected' }),
    ],
    ['a NUL in an added account’s name', delivery('EMAIL_ACCOUNT_ADDED', { id: 6002, email: 'n@acme.example', name: 'Ava\u0000Stone' })],
    ['a NUL in a key', delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected', 'x\u0000y': 1 })],
    ['a lone surrogate', delivery('EMAIL_ACCOUNT_ADDED', { id: 6003, email: 'ls@acme.example', name: '\udc00' })],
    [
      'an 80,000-deep array inside sender_email',
      delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected', extra: 'DEEP' }).replace('"DEEP"', deep),
    ],
    [
      'updated_at +275760-09-13T00:00:00Z',
      delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected', updated_at: '+275760-09-13T00:00:00Z' }),
    ],
    ['updated_at "hello 2026"', delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected', updated_at: 'hello 2026' })],
    [
      'updated_at 2026-02-30',
      delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected', updated_at: '2026-02-30T10:00:00.000000Z' }),
    ],
    [
      'an added account with tags [null, "x", 7]',
      delivery('EMAIL_ACCOUNT_ADDED', { id: 6004, email: 't@acme.example', tags: [null, 'x', 7] }),
    ],
    [
      'a workspace_id past 2^53',
      // As it comes on the wire: a JSON number no double holds exactly.
      delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected' }, { workspace_id: 'PAST' }).replace('"PAST"', '9007199254740993'),
    ],
    ['a workspace_id that is text', delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected' }, { workspace_id: 'acme' })],
    ['a sender email id past 2^53', delivery('EMAIL_ACCOUNT_DISCONNECTED', { id: 2 ** 60, status: 'Not connected' })],
    [
      'a tag id of -1',
      JSON.stringify({
        event: { type: 'TAG_ATTACHED', workspace_id: acme.emailbisonId },
        data: { tag: { id: -1, name: 'x' }, taggable_type: 'SenderEmail', taggable_id: ACCOUNT },
      }),
    ],
  ];

  it('each answers 4xx (never 5xx) before anything is queued, and changes no row and no change history', async () => {
    const before = await snapshot();
    const queuedBefore = queued;
    const statuses: Record<string, number> = {};
    for (const [what, body] of poison) statuses[what] = (await post(pathOf(acme), body)).status;
    expect(statuses).toEqual(Object.fromEntries(poison.map(([what]) => [what, 400])));
    expect(queued, 'no poison reached the queue').toBe(queuedBefore);
    expect(await snapshot()).toBe(before);
    expect(logLines.filter((line) => line.startsWith('ERROR'))).toEqual([]);
  });

  it('leaves the account open to later tag events (the refused tags were never stored)', async () => {
    const attach = JSON.stringify({
      event: { type: 'TAG_ATTACHED', workspace_id: acme.emailbisonId },
      data: { tag: { id: 2, name: 'Hot' }, taggable_type: 'SenderEmail', taggable_id: ACCOUNT },
    });
    const answer = await post(pathOf(acme), attach);
    expect(answer.status, answer.body).toBe(200);
    const [row] = await db.sql<
      { tags: { name: string }[] }[]
    >`select tags from sender_emails where workspace_id = ${acme.id} and emailbison_id = ${ACCOUNT}`;
    expect(row.tags.map((t) => t.name)).toEqual(['Warm', 'Hot']);
  });
});

describe('what only Postgres can tell: the applier drops and logs it, never retries it', () => {
  it("drops a delivery to a URL made before the workspace's key changed EmailBison workspace (routeDelivery)", async () => {
    const before = await snapshot();
    const stale = await upsertWorkspace(db.sql, {
      name: 'Stale',
      baseUrl: 'https://send.example.com',
      apiKeyRef: 'env:UNUSED',
      emailbisonWorkspaceId: 8103,
    });
    const oldPath = deliveryPath(SECRET, { workspaceId: stale.id, emailbisonWorkspaceId: 8103 });
    // The key replaced by another EmailBison workspace's (check-keys records it): the old URL is stale.
    await db.sql`update workspaces set emailbison_workspace_id = 8104 where id = ${stale.id}`;
    logLines.length = 0;
    const body = delivery('EMAIL_ACCOUNT_DISCONNECTED', { status: 'Not connected' }, { workspace_id: 8103 });
    const answer = await settle({ method: 'POST', path: oldPath, body });
    expect(answer).toMatchObject({ status: 200, applied: 'refused' });
    expect(logLines.filter((line) => line.startsWith('WARN webhook delivery refused'))).toHaveLength(1);
    expect(logLines.join('\n')).toContain('records EmailBison workspace 8104; the URL was made for 8103');
    // Inactive (removed): refused alike.
    await db.sql`update workspaces set emailbison_workspace_id = 8103, active = false where id = ${stale.id}`;
    expect(await settle({ method: 'POST', path: oldPath, body })).toMatchObject({ status: 200, applied: 'refused' });
    expect(await snapshot()).toBe(before);
  });

  it('drops (never retries) a value Postgres refuses that validation let through', async () => {
    // Standing for a data exception nobody foresaw: the table refuses one address.
    await db.sql.unsafe(`
      create function refuse_unstorable() returns trigger language plpgsql as $$
      begin
        if new.email = 'unstorable@acme.example' then raise exception 'refused' using errcode = '22023'; end if;
        return new;
      end $$;
      create trigger refuse_unstorable before insert on sender_emails for each row execute function refuse_unstorable();
    `);
    try {
      const before = await snapshot();
      logLines.length = 0;
      const refused = delivery('EMAIL_ACCOUNT_ADDED', { id: 7001, email: 'unstorable@acme.example', status: 'Connected' });
      // Accepted (the receiver has no database to ask), then dropped by the applier: not 'failed', which the queue would retry.
      expect(await settle({ method: 'POST', path: pathOf(acme), body: refused })).toMatchObject({ status: 200, applied: 'dropped' });
      expect(logLines.filter((line) => line.startsWith('ERROR'))).toEqual([
        expect.stringMatching(
          /^ERROR webhook delivery dropped: Postgres refuses a value of it \(no retry stores it\) .*"deliveryKey":"[0-9a-f]{64}"/,
        ),
      ]);
      expect(await snapshot()).toBe(before);
    } finally {
      await db.sql.unsafe('drop trigger refuse_unstorable on sender_emails; drop function refuse_unstorable()');
    }
  });
});
