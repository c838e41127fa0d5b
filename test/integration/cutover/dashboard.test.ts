import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawSenderEmail, RawTag } from '../../../sim/data';
import { cli, type CliResult } from '../../helpers/cli';
import { tempDir } from '../../helpers/cleanup';
import { createTestDatabase } from '../../helpers/database';
import {
  createClientRegistry,
  fillClientRegistry,
  instanceArgs,
  type LabelledInstance,
  sharedIds,
  startTwoInstances,
} from '../../helpers/two-instances';

/*
 * Issue 23's cut-over, end to end, as an operator runs it on the replaced system's database:
 * its client_registry (instances by label), two EmailBison instances whose workspace ids and
 * sender-email ids overlap, `workspaces import --instance`, `compat install`, runs under
 * JOB_NAME=poll-sender-emails; then the dashboard's own reads, as SQL. Every expected value is
 * computed here from the simulators' data by the rules, never read back from SQL.
 */
const db = await createTestDatabase();
const dir = tempDir('ss-cutover-dashboard-');
const env = { DATABASE_URL: db.url, SENDER_SYNC_SECRETS_FILE: path.join(dir, 'secrets.json') };
const JOB_NAME = 'poll-sender-emails';
let instances: LabelledInstance[];
const outputs: string[] = [];

async function run(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const result = await cli(args, { ...env, ...extra });
  outputs.push(result.stdout, result.stderr);
  return result;
}

/** The columns of email_accounts_view, in the dashboard's order. */
const VIEW_COLUMNS = [
  'id',
  'bison_account_id',
  'email_address',
  'workspace_name',
  'workspace_id',
  'bison_instance',
  'status',
  'account_type',
  'emails_sent_count',
  'total_replied_count',
  'unique_replied_count',
  'bounced_count',
  'unsubscribed_count',
  'interested_leads_count',
  'total_opened_count',
  'unique_opened_count',
  'total_leads_contacted_count',
  'daily_limit',
  'warmup_enabled',
  'reply_rate_percentage',
  'email_provider',
  'reseller',
  'domain',
  'price',
  'price_source',
  'pricing_needs_review',
  'notes',
  'created_at',
  'updated_at',
  'last_synced_at',
];
const COUNTERS = [
  'emails_sent_count',
  'total_replied_count',
  'unique_replied_count',
  'bounced_count',
  'unsubscribed_count',
  'interested_leads_count',
  'total_opened_count',
  'unique_opened_count',
  'total_leads_contacted_count',
] as const;
const PROVIDERS = ['Gmail', 'Outlook', 'Microsoft', 'Google', 'Yahoo', 'iCloud', 'AOL'];
const RESELLER_WORDS = ['CheapInboxes', 'Zapmail', 'ScaledMail', 'Mailr', 'Inbox', 'Reseller'];

/** x / y rounded half up to 2 decimals, in exact integer arithmetic. */
function ratio2(numerator: number, denominator: number): number {
  return Math.floor((numerator * 200 + denominator) / (2 * denominator)) / 100;
}

/** What the dashboard itself had set on an account (legacy_email_accounts_raw), by keyOf. */
const dashboardOwn = new Map<string, { notes: string | null; manualPrice: number | null }>();

/** The rules for one live account: what the dashboard's row must hold (id and timestamps aside). */
function expectedRow(
  instance: LabelledInstance,
  workspace: { id: number; name: string },
  account: RawSenderEmail,
  onDomain: Map<string, number>,
) {
  const tags: RawTag[] = account.tags ?? [];
  const provider = tags.find((t) => PROVIDERS.includes(t.name))?.name ?? null;
  const reseller = tags.find((t) => RESELLER_WORDS.some((word) => t.name.includes(word)))?.name ?? null;
  const domain = account.email.split('@')[1];
  const r = reseller?.toLowerCase() ?? '';
  const p = provider?.toLowerCase() ?? '';
  let price = 0;
  if (r.includes('cheapinboxes')) price = 3;
  else if (r === 'zapmail') price = 3;
  else if (r === 'mailr') price = 0.91;
  else if (r === 'scaledmail') price = ratio2(50, onDomain.get(domain)!);
  else if (p === 'google' || p === 'gmail') price = 3;
  const sent = account.emails_sent_count || 0;
  const bisonInstance = instance.label.toLowerCase().replace(/\s+/g, '');
  const own = dashboardOwn.get(`${bisonInstance}/${workspace.id}/${account.id}`);
  // A price set by hand wins (price_source 'manual').
  if (own?.manualPrice != null) price = own.manualPrice;
  return {
    bison_account_id: account.id,
    email_address: account.email,
    workspace_name: workspace.name,
    workspace_id: workspace.id,
    bison_instance: bisonInstance,
    status: account.status || 'Not connected',
    account_type: account.type,
    ...Object.fromEntries(COUNTERS.map((counter) => [counter, account[counter] || 0])),
    daily_limit: account.daily_limit || 0,
    warmup_enabled: account.warmup_enabled || false,
    reply_rate_percentage: sent > 0 ? ratio2((account.unique_replied_count || 0) * 100, sent) : 0,
    email_provider: provider,
    reseller,
    domain,
    price,
    price_source: own?.manualPrice != null ? 'manual' : 'calculated',
    pricing_needs_review: price === 0 && provider !== null,
    notes: own?.notes ?? null,
  };
}

/** Every live account of both instances, as the dashboard must show it, by (instance, workspace id, account id). */
function expectedView(): Map<string, ReturnType<typeof expectedRow>> {
  const rows = new Map<string, ReturnType<typeof expectedRow>>();
  for (const instance of instances) {
    for (const workspace of instance.sim.workspaces()) {
      const accounts = instance.sim.truth(workspace.name);
      const onDomain = new Map<string, number>();
      for (const account of accounts) {
        const domain = account.email.split('@')[1];
        onDomain.set(domain, (onDomain.get(domain) ?? 0) + 1);
      }
      for (const account of accounts) {
        const row = expectedRow(instance, workspace, account, onDomain);
        rows.set(keyOf(row), row);
      }
    }
  }
  return rows;
}

const keyOf = (row: Record<string, unknown>) => `${row.bison_instance}/${Number(row.workspace_id)}/${Number(row.bison_account_id)}`;

/** A row as postgres.js returns it, numbers as numbers (numeric and bigint come as strings). */
function normalized(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const column of ['bison_account_id', 'workspace_id', 'daily_limit', 'price', 'reply_rate_percentage', ...COUNTERS]) {
    if (out[column] !== null && out[column] !== undefined) out[column] = Number(out[column]);
  }
  return out;
}

/** Accounts that exercise the rules the simulator's tags do not: CheapInboxes, Mailr, Gmail, missing fields. */
function exerciseRules(): void {
  const [maverick] = instances;
  const [a, b, c] = maverick.sim.truth(maverick.names[0]);
  const updated_at = '2026-12-02T08:00:00.000000Z';
  maverick.sim.patchAccount(maverick.names[0], a.id, {
    tags: [
      { id: 31, name: 'Gmail', default: false },
      { id: 32, name: 'CheapInboxes Q4', default: false },
    ],
    updated_at,
  });
  maverick.sim.patchAccount(maverick.names[0], b.id, {
    tags: [
      { id: 33, name: 'Mailr', default: false },
      { id: 2, name: 'Outlook', default: true },
    ],
    updated_at,
  });
  maverick.sim.patchAccount(maverick.names[0], c.id, {
    status: null,
    type: null,
    daily_limit: null,
    warmup_enabled: null,
    emails_sent_count: 0,
    tags: [{ id: 2, name: 'Outlook', default: true }],
    updated_at,
  });
}

/** Three accounts of Long Run's workspace 1 removed upstream: gone from the view, kept in email_accounts_raw. */
async function removeUpstream(): Promise<void> {
  const [, longRun] = instances;
  for (const account of longRun.sim.truth(longRun.names[0]).slice(-3)) await longRun.sim.changeAccount(account.id, 'remove');
}

/**
 * The replaced system's own relations, as its dashboard left them: a note and a hand-set price
 * on the same account id of workspace 1 on each instance (its bison_instance as it wrote it).
 */
async function createLegacyRelations(): Promise<number> {
  const accountId = instances[0].sim.truth(instances[0].names[0])[5].id;
  await db.sql`
    create table email_accounts_raw (
      id uuid primary key default gen_random_uuid(),
      bison_account_id integer not null,
      email_address text,
      workspace_id integer,
      bison_instance text,
      price numeric(10, 2),
      price_source text,
      notes text,
      deleted_at timestamptz
    )
  `;
  await db.sql`create materialized view email_accounts_view as select * from email_accounts_raw where deleted_at is null`;
  await db.sql`create table sync_progress (id uuid primary key default gen_random_uuid(), job_id uuid, status text)`;
  await db.sql`create function refresh_email_accounts_view() returns void language sql as 'select 1'`;
  await db.sql`
    insert into email_accounts_raw (bison_account_id, workspace_id, bison_instance, price, price_source, notes) values
      (${accountId}, 1, 'maverick', 3.00, 'calculated', 'warm, ask before pausing'),
      (${accountId}, 1, 'longrun', 7.50, 'manual', null)
  `;
  dashboardOwn.set(`maverick/1/${accountId}`, { notes: 'warm, ask before pausing', manualPrice: null });
  dashboardOwn.set(`longrun/1/${accountId}`, { notes: null, manualPrice: 7.5 });
  return accountId;
}

/** The cut-over page's SQL that brings the dashboard's notes and prices across, as the page shows it. */
function cutoverCopySql(): string {
  const page = readFileSync(path.resolve(import.meta.dirname, '../../../docs/cutover.md'), 'utf8');
  const block = /```sql\n([\s\S]*?)```/.exec(page);
  if (!block) throw new Error('docs/cutover.md shows no sql block');
  return block[1];
}

beforeAll(async () => {
  instances = await startTwoInstances();
  await createClientRegistry(db.sql);
  await fillClientRegistry(db.sql, instances);
  // A client the replaced system no longer syncs: never imported, never shown.
  await db.sql`
    insert into client_registry (workspace_id, workspace_name, bison_workspace_id, bison_instance, bison_api_key, is_active)
    values (99, 'Former Client', 1, 'Long Run', 'former_client_key_sentinel_0c1e', false)
  `;
});
afterAll(async () => {
  await Promise.all(instances.map(({ sim }) => sim.close()));
});

describe('cut-over: the dashboard reads sender-sync, unchanged', () => {
  let progressSeen: { job_id: string; status: string; workspaces_completed: number }[] = [];
  let lastRun: { job: { id: string; total_accounts_synced: number } };

  it('imports the registry with --instance mappings, installs the dashboard relations, the replaced ones kept as legacy_*', async () => {
    expect(sharedIds(instances).length).toBeGreaterThanOrEqual(40);
    const imported = await run(['workspaces', 'import', '--from-client-registry', ...instanceArgs(instances)]);
    expect(imported.code, imported.stderr).toBe(0);
    const accountId = await createLegacyRelations();
    // The replaced system's relations are in the way: refused, then moved aside with their data.
    const refused = await run(['compat', 'install']);
    expect(refused.code).toBe(2);
    const installed = await run(['compat', 'install', '--rename-legacy']);
    expect(installed.code, installed.stderr).toBe(0);
    expect(
      await db.sql`select bison_instance, notes from legacy_email_accounts_raw where bison_account_id = ${accountId} order by 1`,
    ).toEqual([
      { bison_instance: 'longrun', notes: null },
      { bison_instance: 'maverick', notes: 'warm, ask before pausing' },
    ]);
    // A listener on the dashboard's progress table, as Supabase Realtime sees each insert and update.
    await db.sql`create table test_progress_seen (seq serial primary key, job_id text, status text, workspaces_completed integer)`;
    await db.sql`
      create function test_progress_seen() returns trigger language plpgsql set search_path = public as $$
      begin
        insert into test_progress_seen (job_id, status, workspaces_completed) values (new.job_id::text, new.status, new.workspaces_completed);
        return new;
      end $$
    `;
    await db.sql`create trigger test_progress_seen after insert or update on sync_progress for each row execute function test_progress_seen()`;
  });

  it(`runs under JOB_NAME=${JOB_NAME}, brings the dashboard's notes and prices across (the page's SQL), runs again after changes upstream`, async () => {
    const first = await run(['run', '--json'], { JOB_NAME, EMAILBISON_MAX_RPS: '0' });
    expect(first.code, first.stderr).toBe(0);
    await db.sql.unsafe(cutoverCopySql());
    exerciseRules();
    await removeUpstream();
    const second = await run(['run', '--json'], { JOB_NAME, EMAILBISON_MAX_RPS: '0' });
    expect(second.code, second.stderr).toBe(0);
    lastRun = JSON.parse(second.stdout);
    progressSeen = await db.sql<typeof progressSeen>`select job_id, status, workspaces_completed from test_progress_seen order by seq`;
  });

  it('email_accounts_view: every live account of both instances once, each column by the rules', async () => {
    const expected = expectedView();
    const [{ count }] = await db.sql<{ count: string }[]>`select count(*) from email_accounts_view`;
    expect(Number(count)).toBe(expected.size);
    const rows = (await db.sql<Record<string, unknown>[]>`select * from email_accounts_view order by bison_account_id`).map(normalized);
    expect(Object.keys(rows[0])).toEqual(VIEW_COLUMNS);
    expect(rows.map((r) => r.bison_account_id)).toEqual(rows.map((r) => r.bison_account_id).sort((x, y) => Number(x) - Number(y)));
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(new Set(rows.map(keyOf)).size).toBe(rows.length);
    for (const row of rows) {
      const { id, created_at, updated_at, last_synced_at, ...columns } = row;
      expect(columns, keyOf(row)).toEqual(expected.get(keyOf(row)));
      expect(id).not.toBeNull();
      expect(created_at).toBeInstanceOf(Date);
      expect(updated_at).toBeInstanceOf(Date);
      expect(last_synced_at).toBeInstanceOf(Date);
    }
    // The rules the patched accounts exercise, and the ids both instances hold, all there.
    const values = (column: string) => new Set(rows.map((r) => r[column]));
    expect(values('bison_instance')).toEqual(new Set(['maverick', 'longrun']));
    expect([...values('price')].sort()).toEqual(expect.arrayContaining([0, 0.91, 3]));
    expect(values('status')).toContain('Not connected');
    expect(values('pricing_needs_review')).toEqual(new Set([true, false]));
    expect(rows.filter((r) => r.price_source === 'manual' || r.notes !== null)).toHaveLength(2);
    expect(rows.filter((r) => r.reseller === 'ScaledMail').length).toBeGreaterThan(0);
  });

  it('email_accounts_raw: the onboarding count of a workspace id spans both instances; removed accounts keep deleted_at', async () => {
    const live = (id: number) => instances.reduce((n, { sim }) => n + sim.truth(sim.workspaces().find((w) => w.id === id)!.name).length, 0);
    for (const id of [1, 2]) {
      const [{ count }] = await db.sql<{ count: string }[]>`
        select count(*) from email_accounts_raw where workspace_id = ${id} and deleted_at is null
      `;
      expect(Number(count), `workspace_id ${id}`).toBe(live(id));
    }
    const [{ removed }] = await db.sql<{ removed: string }[]>`
      select count(*) as removed from email_accounts_raw where bison_instance = 'longrun' and workspace_id = 1 and deleted_at is not null
    `;
    expect(Number(removed)).toBe(3);
  });

  it(`polling_job_status: the latest ${JOB_NAME} row is the run, completed, with its totals`, async () => {
    const [job] = await db.sql<Record<string, unknown>[]>`
      select * from polling_job_status where job_name = ${JOB_NAME} order by started_at desc limit 1
    `;
    const accounts = instances.reduce((n, { sim }) => n + sim.workspaces().reduce((m, w) => m + sim.truth(w.name).length, 0), 0);
    expect(job).toMatchObject({
      id: lastRun.job.id,
      status: 'completed',
      total_workspaces: 4,
      workspaces_processed: 4,
      workspaces_skipped: 0,
      total_accounts_synced: accounts,
      error_message: null,
    });
    expect(job.completed_at).toBeInstanceOf(Date);
  });

  it('sync_progress: each run moved through running to completed, as the dashboard saw it, and none is left running', async () => {
    const jobs = [...new Set(progressSeen.map((p) => p.job_id))];
    expect(jobs).toHaveLength(2);
    for (const job of jobs) {
      const seen = progressSeen.filter((p) => p.job_id === job);
      expect(seen[0].status).toBe('running');
      expect(seen.at(-1)).toMatchObject({ status: 'completed', workspaces_completed: 4 });
      expect(seen.map((p) => p.status).filter((s, i, all) => s !== all[i - 1])).toEqual(['running', 'completed']);
      const completed = seen.map((p) => p.workspaces_completed);
      expect(completed).toEqual([...completed].sort((a, b) => a - b));
    }
    const [progress] = await db.sql<Record<string, unknown>[]>`
      select * from sync_progress where job_id::text = ${lastRun.job.id}
    `;
    expect(progress).toMatchObject({
      job_name: JOB_NAME,
      total_workspaces: 4,
      workspaces_completed: 4,
      total_accounts: lastRun.job.total_accounts_synced,
      status: 'completed',
      error_message: null,
    });
    expect(progress.completed_at).toBeInstanceOf(Date);
    expect(await db.sql`select job_id from sync_progress where status = 'running'`).toEqual([]);
  });

  it('refresh_email_accounts_view() succeeds, and the view reads the same after it', async () => {
    const before = await db.sql`select * from email_accounts_view order by bison_instance, workspace_id, bison_account_id`;
    await db.sql`select refresh_email_accounts_view()`;
    expect(await db.sql`select * from email_accounts_view order by bison_instance, workspace_id, bison_account_id`).toEqual(before);
  });

  it('never printed a key', () => {
    const keys = ['former_client_key_sentinel_0c1e', ...instances.flatMap(({ sim }) => sim.workspaces().map((w) => w.apiKey))];
    for (const output of outputs) for (const key of keys) expect(output).not.toContain(key);
  });
});
