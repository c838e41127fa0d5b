import { Pool } from 'undici';
import type { Sql } from '../lambdas/db/client';
import { parseSenderEmail, type SenderEmail } from '../lambdas/emailbison/schema';
import type { SimWorkspaceInfo } from './sim-child';

/*
 * What the replaced system did, against the same simulator and the same table: each
 * workspace's pages read one after another, each account written by its own
 * INSERT ... ON CONFLICT (one round trip and one commit per account), three workspaces
 * at a time. Parsing is the sync's own, so the difference is the I/O pattern alone.
 */
export const BASELINE_WORKSPACE_CONCURRENCY = 3;

export async function runBaseline(sql: Sql, url: string, workspaces: SimWorkspaceInfo[]): Promise<{ wallMs: number; accounts: number }> {
  const ids = new Map((await sql<{ id: number; name: string }[]>`select id, name from workspaces`).map((w) => [w.name, w.id]));
  const pool = new Pool(url);
  const queue = [...workspaces];
  let accounts = 0;
  const started = performance.now();
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const workspaceId = ids.get(next.name);
      if (workspaceId === undefined) throw new Error(`baseline: workspace ${next.name} is not registered`);
      const written = await syncOneWorkspace(sql, pool, next.apiKey, workspaceId);
      accounts += written;
    }
  };
  try {
    await Promise.all(Array.from({ length: BASELINE_WORKSPACE_CONCURRENCY }, worker));
  } finally {
    await pool.close();
  }
  return { wallMs: performance.now() - started, accounts };
}

async function syncOneWorkspace(sql: Sql, pool: Pool, apiKey: string, workspaceId: number): Promise<number> {
  let written = 0;
  for (let page = 1, lastPage = 1; page <= lastPage; page++) {
    const response = await pool.request({
      path: `/api/sender-emails?page=${page}`,
      method: 'GET',
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
    });
    if (response.statusCode !== 200) throw new Error(`baseline: HTTP ${response.statusCode} on page ${page}`);
    const body = (await response.body.json()) as { data: unknown[]; meta: { last_page: number } };
    lastPage = body.meta.last_page;
    for (const [position, item] of body.data.entries()) {
      const parsed = parseSenderEmail(item, position);
      if (!parsed.ok) continue;
      await insertOne(sql, workspaceId, parsed.item);
      written += 1;
    }
  }
  return written;
}

function insertOne(sql: Sql, workspaceId: number, a: SenderEmail) {
  return sql`
    insert into sender_emails (
      workspace_id, emailbison_id, email, name, email_signature, daily_limit, type, status, tags,
      emails_sent_count, total_replied_count, unique_replied_count, total_opened_count, unique_opened_count,
      bounced_count, unsubscribed_count, interested_leads_count, total_leads_contacted_count, warmup_enabled,
      emailbison_created_at, emailbison_updated_at, raw, last_synced_at
    ) values (
      ${workspaceId}, ${a.id}, ${a.email}, ${a.name}, ${a.emailSignature}, ${a.dailyLimit}, ${a.type}, ${a.status}, ${JSON.stringify(a.tags)}::jsonb,
      ${a.emailsSentCount}, ${a.totalRepliedCount}, ${a.uniqueRepliedCount}, ${a.totalOpenedCount}, ${a.uniqueOpenedCount},
      ${a.bouncedCount}, ${a.unsubscribedCount}, ${a.interestedLeadsCount}, ${a.totalLeadsContactedCount}, ${a.warmupEnabled},
      ${a.createdAt}::timestamptz, ${a.updatedAt}::timestamptz, ${JSON.stringify(a.raw)}::jsonb, now()
    )
    on conflict (workspace_id, emailbison_id) do update set
      email = excluded.email, name = excluded.name, email_signature = excluded.email_signature,
      daily_limit = excluded.daily_limit, type = excluded.type, status = excluded.status, tags = excluded.tags,
      emails_sent_count = excluded.emails_sent_count, total_replied_count = excluded.total_replied_count,
      unique_replied_count = excluded.unique_replied_count, total_opened_count = excluded.total_opened_count,
      unique_opened_count = excluded.unique_opened_count, bounced_count = excluded.bounced_count,
      unsubscribed_count = excluded.unsubscribed_count, interested_leads_count = excluded.interested_leads_count,
      total_leads_contacted_count = excluded.total_leads_contacted_count, warmup_enabled = excluded.warmup_enabled,
      emailbison_created_at = excluded.emailbison_created_at, emailbison_updated_at = excluded.emailbison_updated_at,
      raw = excluded.raw, last_synced_at = excluded.last_synced_at, deleted_at = null
  `;
}
