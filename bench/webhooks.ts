import type { Sql } from '../lambdas/db/client';
import { silentLog } from '../lambdas/runtime/deps';
import { startLocalReceiver } from '../lambdas/webhook-receiver/node-server';
import { createWebhookReceiver } from '../lambdas/webhook-receiver/receive';
import { deliveryPath, newWebhookSecret } from '../lambdas/webhooks/token';
import { upsertWorkspace } from '../lambdas/workspaces/registry';
import type { Figure } from './report';

/*
 * Issue 15: the webhook receiver's latency, as EmailBison sees it: 1,000 deliveries, one
 * after another over a kept-alive connection, to the receiver on node http (what
 * `webhooks serve` runs; the Lambda calls the same function) against this Postgres. Each
 * delivery is a disconnect or a reconnect of one of 200 accounts, applied with its change
 * row before the answer, and the batched ChangesTopic publish checked on every one.
 */
const DELIVERIES = 1_000;
const ACCOUNTS = 200;

export async function benchWebhooks(sql: Sql, log: (line: string) => void): Promise<Figure[]> {
  const secret = newWebhookSecret();
  const workspace = await upsertWorkspace(sql, {
    name: `bench-webhooks-${process.pid}`,
    baseUrl: 'http://bench.invalid',
    apiKeyRef: 'env:UNUSED',
    emailbisonWorkspaceId: 990_001,
  });
  let published = 0;
  const receiver = await startLocalReceiver(
    createWebhookReceiver({
      webhookSecret: async () => secret,
      sql: async () => sql,
      log: silentLog,
      publisher: { publish: async () => void (published += 1) },
    }),
  );
  const url = `${receiver.url}${deliveryPath(secret, { workspaceId: workspace.id, emailbisonWorkspaceId: 990_001 })}`;
  // Timestamps must be plausible (no later than a day from now): the deliveries' clock runs from an hour ago.
  let clock = Date.now() - 3_600_000;
  const deliver = async (type: string, id: number, status: string) => {
    clock += 1000;
    const body = JSON.stringify({
      event: { type, name: type, instance_url: 'http://bench.invalid', workspace_id: 990_001, workspace_name: 'bench' },
      data: {
        sender_email: {
          id,
          email: `inbox${id}@bench.example`,
          status,
          emails_sent: id,
          daily_limit: 30,
          updated_at: new Date(clock).toISOString(),
        },
      },
    });
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`webhook bench: delivery answered ${response.status}`);
    return performance.now() - started;
  };
  try {
    for (let id = 1; id <= ACCOUNTS; id++) await deliver('EMAIL_ACCOUNT_ADDED', 1_000_000 + id, 'Connected');
    const latencies: number[] = [];
    for (let i = 0; i < DELIVERIES; i++) {
      const id = 1_000_000 + (i % ACCOUNTS) + 1;
      const disconnect = Math.floor(i / ACCOUNTS) % 2 === 0;
      latencies.push(
        await deliver(
          disconnect ? 'EMAIL_ACCOUNT_DISCONNECTED' : 'EMAIL_ACCOUNT_RECONNECTED',
          id,
          disconnect ? 'Not connected' : 'Connected',
        ),
      );
    }
    const [{ changes }] = await sql<{ changes: number }[]>`
      select count(*)::int as changes from sender_email_changes where workspace_id = ${workspace.id} and field = 'status'
    `;
    if (changes !== DELIVERIES) throw new Error(`webhook bench: ${changes} change rows for ${DELIVERIES} deliveries`);
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    const note = `${DELIVERIES} sequential deliveries (disconnect/reconnect of ${ACCOUNTS} accounts), each applied with its change row before the 200; ${published} ChangesTopic message(s) published (one per workspace per 5 minutes)`;
    log(
      `  webhook receiver: p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms; ${note}`,
    );
    return [
      { section: 'issue 15 webhooks', name: 'receiver latency p50', value: at(0.5), unit: 'ms', runs: 1, note },
      { section: 'issue 15 webhooks', name: 'receiver latency p99', value: at(0.99), unit: 'ms', runs: 1, note },
    ];
  } finally {
    await receiver.close();
  }
}
