import { Agent, request } from 'undici';
import type { Sql } from '../lambdas/db/client';
import { silentLog } from '../lambdas/runtime/deps';
import { applyBatch } from '../lambdas/webhook-applier/apply-batch';
import { createWebhookApplier } from '../lambdas/webhook-applier/applier';
import { startLocalReceiver } from '../lambdas/webhook-receiver/node-server';
import { createWebhookReceiver } from '../lambdas/webhook-receiver/receive';
import { encodeIntakeMessage } from '../lambdas/webhooks/intake';
import { deliveryPath, newWebhookSecret, type DeliveryTarget } from '../lambdas/webhooks/token';
import { upsertWorkspace } from '../lambdas/workspaces/registry';
import { startLocalIntake } from '../local/intake-queue';
import type { Figure } from './report';

/*
 * Issue 19: the storage-first intake on a bad day, as `webhooks serve` runs it (the Lambdas
 * call the same receiver and applier). 40 workspaces x 50 accounts disconnect at once:
 *   - intake latency: 2,000 deliveries posted by 256 concurrent senders to the receiver
 *     (node http, the in-process bounded queue, the applier working meanwhile); p50/p99 of
 *     each answer;
 *   - applier events/s: another 2,000 disconnections put on the queue, the time until
 *     they are all applied (2 workers, batches of 100, one transaction each), next to the
 *     same 2,000 applied by applyBatch in one call (one transaction) on a third set.
 */
const WORKSPACES = 40;
const ACCOUNTS_EACH = 50;
const EVENTS = WORKSPACES * ACCOUNTS_EACH;
const SENDERS = 256;
const SECTION = 'issue 19 webhook intake';

export async function benchWebhooks(sql: Sql, log: (line: string) => void): Promise<Figure[]> {
  const secret = newWebhookSecret();
  const workspaces: number[] = [];
  for (let w = 0; w < WORKSPACES; w++) {
    const workspace = await upsertWorkspace(sql, {
      name: `bench-intake-${process.pid}-${w}`,
      baseUrl: 'http://bench.invalid',
      apiKeyRef: 'env:UNUSED',
      emailbisonWorkspaceId: 990_100 + w,
    });
    workspaces.push(workspace.id);
  }
  // Three sets of accounts, Connected: one for the HTTP burst, one through the queue, one applied directly.
  const accountId = (set: number, w: number, a: number) => 2_000_000 + set * 100_000 + w * 1_000 + a;
  for (let set = 0; set < 3; set++) {
    const rows = workspaces.flatMap((workspaceId, w) =>
      Array.from({ length: ACCOUNTS_EACH }, (_, a) => ({
        workspace_id: workspaceId,
        emailbison_id: accountId(set, w, a),
        email: `inbox${accountId(set, w, a)}@bench.example`,
        status: 'Connected',
        raw: {},
      })),
    );
    await sql`insert into sender_emails ${sql(rows as never)}`;
  }
  const body = (set: number, w: number, a: number) =>
    JSON.stringify({
      event: {
        type: 'EMAIL_ACCOUNT_DISCONNECTED',
        name: 'Email Account Disconnected',
        instance_url: 'http://bench.invalid',
        workspace_id: 990_100 + w,
      },
      data: {
        sender_email: {
          id: accountId(set, w, a),
          email: `inbox${accountId(set, w, a)}@bench.example`,
          status: 'Not connected',
          updated_at: new Date().toISOString(),
        },
      },
    });
  const each = (set: number) =>
    workspaces.flatMap((_, w) => Array.from({ length: ACCOUNTS_EACH }, (_, a) => ({ w, body: body(set, w, a) })));
  const target = (w: number): DeliveryTarget => ({ workspaceId: workspaces[w], emailbisonWorkspaceId: 990_100 + w });

  let published = 0;
  const applier = createWebhookApplier({ sql, log: silentLog, publisher: { publish: async () => void (published += 1) } });
  const intake = startLocalIntake(applier, { log: silentLog, workers: 2 });
  const receiver = await startLocalReceiver(
    createWebhookReceiver({ webhookSecret: async () => secret, queue: intake.queue, log: silentLog }),
  );
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  try {
    const posts = each(0);
    const latencies: number[] = [];
    let next = 0;
    const burstStarted = performance.now();
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < posts.length) {
          const { w, body: text } = posts[next++];
          const started = performance.now();
          const response = await request(`${receiver.url}${deliveryPath(secret, target(w))}`, {
            method: 'POST',
            body: text,
            dispatcher: agent,
          });
          await response.body.dump();
          if (response.statusCode !== 200) throw new Error(`webhook bench: a delivery answered ${response.statusCode}`);
          latencies.push(performance.now() - started);
        }
      }),
    );
    const burstMs = performance.now() - burstStarted;
    await intake.drain();
    const appliedAfterMs = performance.now() - burstStarted;

    const queuedStarted = performance.now();
    for (const { w, body: text } of each(1)) {
      await intake.queue.send({ kind: 'delivery', target: target(w), body: text, receivedAt: new Date().toISOString() });
    }
    await intake.drain();
    const queuedPerSecond = EVENTS / ((performance.now() - queuedStarted) / 1000);

    const directStarted = performance.now();
    const direct = await applyBatch(
      sql,
      each(2).map(({ w, body: text }, i) => ({
        id: String(i),
        body: encodeIntakeMessage({ kind: 'delivery', target: target(w), body: text, receivedAt: new Date().toISOString() }),
      })),
      { log: silentLog },
    );
    const directPerSecond = EVENTS / ((performance.now() - directStarted) / 1000);
    if (direct.failed.length > 0 || direct.tally.applied !== EVENTS)
      throw new Error(`webhook bench: direct batch ${JSON.stringify(direct.tally)}`);
    const [{ changes }] = await sql<{ changes: number }[]>`
      select count(*)::int as changes from sender_email_changes where source = 'webhook' and field = 'status' and workspace_id = any(${workspaces})
    `;
    if (changes !== 3 * EVENTS) throw new Error(`webhook bench: ${changes} change rows for ${3 * EVENTS} disconnections`);

    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    const ratio = queuedPerSecond / directPerSecond;
    const burstNote = `${EVENTS} disconnections (${WORKSPACES} workspaces x ${ACCOUNTS_EACH}) posted by ${SENDERS} concurrent senders to the receiver (queue, then 200), all answered in ${Math.round(burstMs)} ms, all applied ${Math.round(appliedAfterMs)} ms after the first`;
    const applyNote = `${EVENTS} disconnections through the local queue (2 workers, batches of 100, one transaction each): ${Math.round(queuedPerSecond)} events/s; the same applied by applyBatch in one transaction: ${Math.round(directPerSecond)} events/s; ${published} digest(s) sent`;
    log(`  intake: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ${burstNote}`);
    log(`  applier: ${applyNote} (ratio ${ratio.toFixed(2)})`);
    return [
      { section: SECTION, name: 'intake latency p50 (2,000 concurrent deliveries)', value: at(0.5), unit: 'ms', runs: 1, note: burstNote },
      {
        section: SECTION,
        name: 'intake latency p99 (2,000 concurrent deliveries)',
        value: at(0.99),
        unit: 'ms',
        runs: 1,
        target: { op: '<', value: 1000, text: '< 1 s' },
        note: burstNote,
      },
      { section: SECTION, name: 'applier events/s through the queue', value: queuedPerSecond, unit: 'events/s', runs: 1, note: applyNote },
      {
        section: SECTION,
        name: 'applier events/s in one batch, directly',
        value: directPerSecond,
        unit: 'events/s',
        runs: 1,
        note: applyNote,
      },
      {
        section: SECTION,
        name: 'applier through the queue / one batch directly',
        value: ratio,
        unit: 'x',
        runs: 1,
        target: { op: '>=', value: 0.5, text: '>= 0.5x (within 2x)' },
        note: applyNote,
      },
    ];
  } finally {
    await receiver.close();
    await intake.close();
    await agent.close();
  }
}
