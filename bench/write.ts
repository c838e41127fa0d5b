import { randomUUID } from 'node:crypto';
import net from 'node:net';
import postgres from 'postgres';
import type { Sql } from '../lambdas/db/client';
import { parseSenderEmail, type SenderEmail } from '../lambdas/emailbison/schema';
import { BatchWriter } from '../lambdas/sync/batch-writer';
import { buildWorkspaces, scenarioSpec } from '../sim/scenarios';
import { clearAccounts } from './database';
import { CONFIG } from './deps';
import { median, type Figure } from './report';

/*
 * Item 4: the sync's write path (a BatchWriter fed batches of the configured size, as
 * syncWorkspace feeds it) on 433 and 50,000 accounts, new and unchanged, next to a raw
 * COPY of the same rows into an unindexed, unconstrained copy of sender_emails on the
 * same database. The COPY runs on a socket with Nagle off: its best case.
 */
const SIZES = [
  { label: '433', accounts: () => accountsOf('seed-2025', 'Tidewater Consulting'), runs: 7 },
  { label: '50,000', accounts: () => accountsOf('grid:1:50000'), runs: 3 },
];

export async function benchWrite(sql: Sql, url: string, log: (line: string) => void): Promise<Figure[]> {
  await sql`drop table if exists bench_raw_copy`;
  await sql`create table bench_raw_copy as select * from sender_emails with no data`;
  // postgres.js takes a connected socket from `socket` (undocumented in its types).
  const copySql = postgres(url, { max: 1, onnotice: () => {}, socket: () => noDelaySocket(url) } as postgres.Options<
    Record<string, never>
  >) as unknown as CopySql;
  const figures: Figure[] = [];
  try {
    for (const size of SIZES) {
      const accounts = size.accounts();
      const n = accounts.length;
      const samples = { new: [] as number[], unchanged: [] as number[], copy: [] as number[] };
      for (let run = 1; run <= size.runs; run++) {
        // Both tables start each run empty, so neither carries the previous runs' rows.
        await clearAccounts(sql);
        await sql`truncate bench_raw_copy`;
        const workspaceId = await benchWorkspace(sql, `bench write ${size.label} ${run}`);
        samples.new.push(await timed(() => writeLikeTheSync(sql, workspaceId, accounts)));
        samples.unchanged.push(await timed(() => writeLikeTheSync(sql, workspaceId, accounts)));
        samples.copy.push(await timed(() => copyRows(copySql, workspaceId, accounts)));
        const [copied] = await sql<{ n: number }[]>`select count(*)::int as n from bench_raw_copy`;
        if (copied.n !== n) throw new Error(`raw COPY stored ${copied.n} of ${n} rows`);
      }
      await sql`truncate bench_raw_copy`;
      await clearAccounts(sql);
      log(
        `  ${size.label} rows: new ${median(samples.new).toFixed(1)} ms, unchanged ${median(samples.unchanged).toFixed(1)} ms, raw COPY ${median(samples.copy).toFixed(1)} ms`,
      );
      figures.push(...writeFigures(size.label, n, size.runs, samples));
    }
    figures.push(...(await benchChurnProbe(sql, log)));
  } finally {
    await copySql.end({ timeout: 5 });
    await sql`drop table if exists bench_raw_copy`;
    await clearAccounts(sql);
  }
  return figures;
}

/*
 * Id churn (issue 22 item 5): once a workspace has completed a sync, each new id is probed for
 * an account of the same email (removed, or not seen by the walk) that it re-adds. The probe
 * reads the workspace's rows once per batch that brings new ids (no index on lower(email):
 * 003 dropped it for the write path). Measured on a stored workspace of 48,000 accounts:
 * 2,000 new ids before its first completed sync (no probe), after it (probed, no match), and
 * 2,000 of its removed accounts back under new ids (probed, each a 'readded' row).
 */
async function benchChurnProbe(sql: Sql, log: (line: string) => void): Promise<Figure[]> {
  const all = accountsOf('grid:1:50000');
  const stored = all.slice(0, 48_000);
  const fresh = all.slice(48_000);
  const runs = 3;
  const samples = { unprobed: [] as number[], probed: [] as number[], readded: [] as number[] };
  for (let run = 1; run <= runs; run++) {
    await clearAccounts(sql);
    const workspaceId = await benchWorkspace(sql, `bench churn ${run}`);
    await writeLikeTheSync(sql, workspaceId, stored);
    samples.unprobed.push(await timed(() => writeLikeTheSync(sql, workspaceId, fresh)));
    await sql`delete from sender_emails where workspace_id = ${workspaceId} and emailbison_id = any(${fresh.map((a) => a.id)}::bigint[])`;
    const [job] = await sql<{ id: string }[]>`
      insert into polling_job_status (job_name, status, completed_at) values ('bench-churn', 'completed', now()) returning id
    `;
    try {
      await sql`
        insert into polling_job_workspaces (job_id, workspace_id, workspace_name, status)
        values (${job.id}, ${workspaceId}, 'bench churn', 'synced')
      `;
      samples.probed.push(await timed(() => writeLikeTheSync(sql, workspaceId, fresh)));
      const back = stored.slice(0, 2000);
      await sql`update sender_emails set deleted_at = now() where workspace_id = ${workspaceId} and emailbison_id = any(${back.map((a) => a.id)}::bigint[])`;
      samples.readded.push(
        await timed(() =>
          writeLikeTheSync(
            sql,
            workspaceId,
            back.map((a) => ({ ...a, id: a.id + 10_000_000 })),
          ),
        ),
      );
      const [{ n }] = await sql<{ n: number }[]>`
        select count(*)::int as n from sender_email_changes where workspace_id = ${workspaceId} and field = 'readded'
      `;
      if (n !== back.length) throw new Error(`churn bench: ${n} readded rows for ${back.length} accounts back under new ids`);
    } finally {
      await sql`delete from polling_job_status where id = ${job.id}`;
    }
  }
  await clearAccounts(sql);
  log(
    `  id churn, 2,000 new ids into 48,000 stored: before a completed sync ${median(samples.unprobed).toFixed(1)} ms, ` +
      `after (probed) ${median(samples.probed).toFixed(1)} ms, 2,000 re-added ${median(samples.readded).toFixed(1)} ms`,
  );
  const section = '4 write, id churn';
  const ratio = samples.probed.map((ms, i) => ms / samples.unprobed[i]);
  return [
    {
      section,
      name: '2,000 new ids, no completed sync (no probe)',
      value: median(samples.unprobed),
      unit: 'ms',
      runs,
      samples: samples.unprobed,
    },
    {
      section,
      name: '2,000 new ids after a completed sync (probed)',
      value: median(samples.probed),
      unit: 'ms',
      runs,
      samples: samples.probed,
      note: `${median(ratio).toFixed(2)}x the unprobed write; a workspace of 48,000 stored accounts, batches of ${CONFIG.batchSize}`,
    },
    {
      section,
      name: '2,000 removed accounts back under new ids',
      value: median(samples.readded),
      unit: 'ms',
      runs,
      samples: samples.readded,
      note: "each a 'readded' change row (old id -> new id)",
    },
  ];
}

type CopySql = postgres.Sql<Record<string, never>>;

function writeFigures(label: string, n: number, runs: number, samples: { new: number[]; unchanged: number[]; copy: number[] }): Figure[] {
  const rate = (ms: number[]) => n / (median(ms) / 1000);
  const ratios = (kind: 'new' | 'unchanged') => samples[kind].map((ms, i) => samples.copy[i] / ms);
  const section = `4 write ${label}`;
  const figures: Figure[] = [];
  if (label === '433') {
    figures.push(
      {
        section,
        name: '433-row write, new rows',
        value: median(samples.new),
        unit: 'ms',
        runs,
        samples: samples.new,
        target: { op: '<', value: 25, text: '< 25 ms' },
      },
      {
        section,
        name: '433-row write, unchanged rows',
        value: median(samples.unchanged),
        unit: 'ms',
        runs,
        samples: samples.unchanged,
        target: { op: '<', value: 25, text: '< 25 ms' },
      },
    );
  }
  figures.push(
    {
      section,
      name: 'upsert rows/s, new',
      value: rate(samples.new),
      unit: 'rows/s',
      runs,
      samples: samples.new,
      note: `${Math.ceil(n / CONFIG.batchSize)} statement(s) of up to ${CONFIG.batchSize} rows, as syncWorkspace writes`,
    },
    { section, name: 'upsert rows/s, unchanged', value: rate(samples.unchanged), unit: 'rows/s', runs, samples: samples.unchanged },
    {
      section,
      name: 'raw COPY rows/s (unindexed copy)',
      value: rate(samples.copy),
      unit: 'rows/s',
      runs,
      samples: samples.copy,
      note: 'COPY ... FROM STDIN (text format built in JS) into CREATE TABLE AS ... WITH NO DATA, Nagle off',
    },
    withTarget(
      { section, name: 'upsert / COPY rate, new', value: median(ratios('new')), unit: 'x', runs, samples: ratios('new') },
      label !== '433',
    ),
    withTarget(
      { section, name: 'upsert / COPY rate, unchanged', value: median(ratios('unchanged')), unit: 'x', runs, samples: ratios('unchanged') },
      label !== '433',
    ),
  );
  return figures;
}

async function benchWorkspace(sql: Sql, name: string): Promise<number> {
  const [workspace] = await sql<{ id: number }[]>`
    insert into workspaces (name, base_url, api_key_ref, active) values (${name}, 'http://127.0.0.1:1', 'env:UNUSED', false)
    on conflict (name) do update set active = false returning id
  `;
  await sql`delete from sender_emails where workspace_id = ${workspace.id}`;
  return workspace.id;
}

/** The target applies at a size where throughput, not a round trip, is what is measured. */
function withTarget(figure: Figure, apply: boolean): Figure {
  return apply
    ? { ...figure, target: { op: '>=', value: 0.5, text: '>= 0.5x' } }
    : { ...figure, note: 'a few round trips at this size: shown, not targeted' };
}

/** As syncWorkspace writes: batches of the configured size through a BatchWriter, drained at the end. */
async function writeLikeTheSync(sql: Sql, workspaceId: number, accounts: SenderEmail[]): Promise<void> {
  const writer = new BatchWriter(sql, { jobId: randomUUID(), workspaceId });
  for (let start = 0; start < accounts.length; start += CONFIG.batchSize) {
    await writer.write(accounts.slice(start, start + CONFIG.batchSize));
  }
  await writer.drain();
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const COPY_COLUMNS = `workspace_id, emailbison_id, email, name, email_signature, daily_limit, type, status, tags,
  emails_sent_count, total_replied_count, unique_replied_count, total_opened_count, unique_opened_count, bounced_count,
  unsubscribed_count, interested_leads_count, total_leads_contacted_count, warmup_enabled, emailbison_created_at,
  emailbison_updated_at, raw, last_seen_job_id, last_synced_at`;

async function copyRows(sql: CopySql, workspaceId: number, accounts: SenderEmail[]): Promise<void> {
  const jobId = randomUUID();
  const now = new Date().toISOString();
  const line = (a: SenderEmail) =>
    [
      workspaceId,
      a.id,
      a.email,
      a.name,
      a.emailSignature,
      a.dailyLimit,
      a.type,
      a.status,
      JSON.stringify(a.tags),
      a.emailsSentCount,
      a.totalRepliedCount,
      a.uniqueRepliedCount,
      a.totalOpenedCount,
      a.uniqueOpenedCount,
      a.bouncedCount,
      a.unsubscribedCount,
      a.interestedLeadsCount,
      a.totalLeadsContactedCount,
      a.warmupEnabled,
      a.createdAt,
      a.updatedAt,
      JSON.stringify(a.raw),
      jobId,
      now,
    ]
      .map(copyField)
      .join('\t');
  const query = sql.unsafe(`copy bench_raw_copy (${COPY_COLUMNS}) from stdin`);
  const stream = await query.writable();
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
  });
  // postgres.js leaves the stream open when the server rejects the data: give up after a while.
  const timeout = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('COPY did not finish within 30 s')), 30_000).unref());
  // CopyData messages of ~250 rows: one message of the whole set is several times slower.
  for (let start = 0; start < accounts.length; start += COPY_ROWS_PER_MESSAGE) {
    const chunk = `${accounts
      .slice(start, start + COPY_ROWS_PER_MESSAGE)
      .map(line)
      .join('\n')}\n`;
    if (!stream.write(chunk)) await Promise.race([new Promise((resolve) => stream.once('drain', resolve)), finished, timeout]);
  }
  stream.end();
  await Promise.race([finished, timeout]);
}

const COPY_ROWS_PER_MESSAGE = 250;

function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function noDelaySocket(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5432), noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function accountsOf(scenario: string, workspaceName?: string): SenderEmail[] {
  const workspaces = buildWorkspaces(scenarioSpec(scenario));
  const workspace = workspaceName ? workspaces.find((w) => w.name === workspaceName) : workspaces[0];
  if (!workspace) throw new Error(`no workspace ${workspaceName} in ${scenario}`);
  return workspace.accounts.map((raw, position) => {
    const parsed = parseSenderEmail(raw, position);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.item;
  });
}
