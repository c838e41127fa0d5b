import { installCompat } from '../lambdas/compat/install';
import { uninstallCompat } from '../lambdas/compat/uninstall';
import type { Sql } from '../lambdas/db/client';
import { type Figure, median } from './report';

/*
 * Issue 23: the replaced dashboard reads email_accounts_view at every page load, the way
 * its realtimeDataService does: an exact count, then pages of 1,000 ordered by
 * bison_account_id (PostgREST's limit/offset). Timed here at 100,000 accounts against the same
 * reads of sender_emails itself (select *, ordered by emailbison_id), query by query
 * alternately, target <= 1.5x; and one full select of each. Then what compat's triggers
 * cost on the write path: a 2,000-row upsert of sender_emails (the mailbox counts) and
 * 2,000 workspaces of one run ending one by one (sync_progress), with and without them.
 */
const ACCOUNTS = 100_000;
const WORKSPACES = 60;
const PAGE = 1_000;
const BURST = 2_000;

export async function benchCompat(sql: Sql, runs: number, log: (line: string) => void): Promise<Figure[]> {
  log(`compat: ${ACCOUNTS.toLocaleString('en')} accounts in ${WORKSPACES} workspaces of two instances`);
  await seedAccounts(sql);
  const installed = await installCompat(sql, { schema: 'public' });
  if (installed.status === 'refused') throw new Error(`compat install refused: ${installed.reason}`);

  const samples = { view: [] as number[], table: [] as number[], viewFull: [] as number[], tableFull: [] as number[] };
  for (let run = 0; run < runs; run++) {
    const read = await dashboardReads(sql);
    samples.view.push(read.view);
    samples.table.push(read.table);
    samples.viewFull.push(await timed(() => sql`select * from email_accounts_view`));
    samples.tableFull.push(await timed(() => sql`select * from sender_emails where deleted_at is null`));
    log(
      `  run ${run + 1}: count + pages ${ms(samples.view[run])} vs ${ms(samples.table[run])}; full select ${ms(samples.viewFull[run])} vs ${ms(samples.tableFull[run])}`,
    );
  }

  const writes = { upsertWith: [] as number[], upsertWithout: [] as number[], burstWith: [] as number[], burstWithout: [] as number[] };
  for (let run = 0; run < runs; run++) {
    writes.upsertWith.push(await upsertBurst(sql, run * 2));
    writes.burstWith.push(await workspaceBurst(sql));
    await uninstallCompat(sql);
    writes.upsertWithout.push(await upsertBurst(sql, run * 2 + 1));
    writes.burstWithout.push(await workspaceBurst(sql));
    await installCompat(sql, { schema: 'public' });
    log(
      `  run ${run + 1}: ${BURST}-row upsert ${ms(writes.upsertWith[run])} with the triggers, ${ms(writes.upsertWithout[run])} without; ` +
        `${BURST} workspaces ending ${ms(writes.burstWith[run])} with, ${ms(writes.burstWithout[run])} without`,
    );
  }

  const ratio = (a: number[], b: number[]) => a.map((value, i) => value / b[i]);
  const section = 'issue 23 dashboard';
  const pages = Math.ceil(ACCOUNTS / PAGE);
  return [
    {
      section,
      name: `email_accounts_view, count + ${pages} pages of ${PAGE}, vs sender_emails`,
      value: median(ratio(samples.view, samples.table)),
      unit: 'x',
      runs,
      samples: ratio(samples.view, samples.table),
      target: { op: '<=', value: 1.5, text: '<= 1.5x' },
      note: `median ${ms(median(samples.view))} vs ${ms(median(samples.table))}: the dashboard's read (an exact count, then limit/offset pages ordered by bison_account_id) at ${ACCOUNTS} accounts, against the same read of sender_emails (select *, ordered by emailbison_id)`,
    },
    {
      section,
      name: 'email_accounts_view, count + pages',
      value: median(samples.view),
      unit: 'ms',
      runs,
      samples: samples.view,
    },
    {
      section,
      name: 'email_accounts_view, one full select, vs sender_emails',
      value: median(ratio(samples.viewFull, samples.tableFull)),
      unit: 'x',
      runs,
      samples: ratio(samples.viewFull, samples.tableFull),
      target: { op: '<=', value: 1.5, text: '<= 1.5x' },
      note: `median ${ms(median(samples.viewFull))} vs ${ms(median(samples.tableFull))}`,
    },
    {
      section,
      name: `${BURST}-row upsert of sender_emails, with compat's mailbox triggers vs without`,
      value: median(ratio(writes.upsertWith, writes.upsertWithout)),
      unit: 'x',
      runs,
      samples: ratio(writes.upsertWith, writes.upsertWithout),
      note: `median ${ms(median(writes.upsertWith))} vs ${ms(median(writes.upsertWithout))}: new accounts inserted, then updated with new emails (domains move)`,
    },
    {
      section,
      name: `${BURST} workspaces of a run ending one by one, with sync_progress's triggers vs without`,
      value: median(ratio(writes.burstWith, writes.burstWithout)),
      unit: 'x',
      runs,
      samples: ratio(writes.burstWith, writes.burstWithout),
      note: `median ${ms(median(writes.burstWith))} vs ${ms(median(writes.burstWithout))}: each workspace running then synced, one statement each, 3 at a time (the Map's concurrency)`,
    },
  ];
}

/**
 * What the dashboard does at each page load, through the view and on sender_emails, in ms:
 * the same query of each, one after the other (count, then page by page), so both see the
 * same load on a shared machine; each side's times summed.
 */
async function dashboardReads(sql: Sql): Promise<{ view: number; table: number }> {
  const total = { view: 0, table: 0 };
  const both = async (view: () => Promise<unknown>, table: () => Promise<unknown>) => {
    total.view += await timed(view);
    total.table += await timed(table);
  };
  let count = 0;
  await both(
    async () => {
      [{ count }] = await sql<{ count: number }[]>`select count(*)::int as count from email_accounts_view`;
    },
    () => sql`select count(*)::int as count from sender_emails where deleted_at is null`,
  );
  for (let offset = 0; offset < count; offset += PAGE) {
    await both(
      () => sql`select * from email_accounts_view order by bison_account_id limit ${PAGE} offset ${offset}`,
      () => sql`select * from sender_emails where deleted_at is null order by emailbison_id limit ${PAGE} offset ${offset}`,
    );
  }
  return total;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/**
 * Accounts as a sync writes them (raw holds the whole EmailBison item): about 50 mailboxes a
 * domain, tags in varied orders (provider first, reseller first, neither), 1 in 50 removed.
 */
async function seedAccounts(sql: Sql): Promise<void> {
  await sql`
    insert into workspaces (name, base_url, api_key_ref, emailbison_workspace_id, instance_label)
    select 'Bench compat ' || i, 'https://send' || (i % 2) || '.example.com', 'env:BENCH_KEY', 1000 + (i / 2),
      case when i % 2 = 0 then 'Maverick' else 'Long Run' end
    from generate_series(1, ${WORKSPACES}) i
  `;
  await sql`
    with w as (select id, row_number() over (order by id) - 1 as n from workspaces where name like 'Bench compat %'),
    a as (
      select g, w.id as workspace_id, 'sender' || g || '@d' || (g / 50) || '.example.com' as email,
        case g % 6
          when 0 then '[{"id":1,"name":"Google","default":false},{"id":2,"name":"ScaledMail","default":false}]'
          when 1 then '[{"id":3,"name":"Zapmail","default":false},{"id":4,"name":"Outlook","default":false}]'
          when 2 then '[{"id":5,"name":"Client A","default":true},{"id":6,"name":"CheapInboxes EU","default":false},{"id":1,"name":"Gmail","default":false}]'
          when 3 then '[{"id":7,"name":"Mailr","default":false}]'
          when 4 then '[{"id":4,"name":"Outlook","default":false}]'
          else '[]' end::jsonb as tags
      from generate_series(1, ${ACCOUNTS}) g join w on w.n = g % ${WORKSPACES}
    )
    insert into sender_emails (workspace_id, emailbison_id, email, name, daily_limit, type, status, tags,
      emails_sent_count, total_replied_count, unique_replied_count, total_opened_count, unique_opened_count,
      bounced_count, unsubscribed_count, interested_leads_count, total_leads_contacted_count, warmup_enabled,
      emailbison_created_at, emailbison_updated_at, raw, deleted_at)
    select workspace_id, g, email, 'Sender ' || g, 30, 'google_workspace', 'Connected', tags,
      g % 900, g % 40, g % 30, g % 300, g % 200, g % 7, g % 3, g % 5, g % 800, true,
      now() - interval '90 days', now() - interval '1 day',
      jsonb_build_object('id', g, 'name', 'Sender ' || g, 'email', email, 'email_signature', '<p>Best regards,<br>Sender ' || g || '</p>',
        'daily_limit', 30, 'type', 'google_workspace', 'status', 'Connected', 'tags', tags, 'emails_sent_count', g % 900,
        'total_replied_count', g % 40, 'unique_replied_count', g % 30, 'total_opened_count', g % 300,
        'unique_opened_count', g % 200, 'bounced_count', g % 7, 'unsubscribed_count', g % 3,
        'interested_leads_count', g % 5, 'total_leads_contacted_count', g % 800, 'warmup_enabled', true,
        'created_at', now() - interval '90 days', 'updated_at', now() - interval '1 day'),
      case when g % 50 = 0 then now() end
    from a
  `;
  await sql`analyze`;
}

/** 2,000 new accounts in one statement, then the same rows moved to other domains: ms for both. */
async function upsertBurst(sql: Sql, round: number): Promise<number> {
  const first = 10_000_000 + round * BURST;
  const [workspace] = await sql<{ id: number }[]>`select id from workspaces where name like 'Bench compat %' order by id limit 1`;
  const elapsed = await timed(async () => {
    await sql`
      insert into sender_emails (workspace_id, emailbison_id, email, status, tags, raw)
      select ${workspace.id}, g, 'burst' || g || '@b' || (g / 40) || '.example.com', 'Connected',
        '[{"id":2,"name":"ScaledMail","default":false}]', '{}'
      from generate_series(${first}::bigint, ${first + BURST - 1}::bigint) g
    `;
    await sql`
      update sender_emails set email = 'moved' || emailbison_id || '@m' || (emailbison_id / 25) || '.example.com'
      where workspace_id = ${workspace.id} and emailbison_id between ${first} and ${first + BURST - 1}
    `;
  });
  await sql`delete from sender_emails where workspace_id = ${workspace.id} and emailbison_id >= 10000000`;
  return elapsed;
}

/** A job of 2,000 workspaces whose rows go running then synced, one statement each, three at a time. */
async function workspaceBurst(sql: Sql): Promise<number> {
  const extra = await sql<{ id: number }[]>`
    insert into workspaces (name, base_url, api_key_ref)
    select 'Bench burst ' || i, 'https://burst.example.com', 'env:BENCH_KEY' from generate_series(1, ${BURST}) i
    on conflict (name) do update set active = true
    returning id
  `;
  const [job] = await sql<{ id: string }[]>`
    insert into polling_job_status (job_name, total_workspaces) values ('bench-compat-burst', ${BURST}) returning id
  `;
  await sql`
    insert into polling_job_workspaces (job_id, workspace_id, workspace_name)
    select ${job.id}, id, 'Bench burst ' || id from unnest(${extra.map((w) => w.id)}::int[]) id
  `;
  const ids = extra.map((w) => w.id);
  const elapsed = await timed(async () => {
    let next = 0;
    const lane = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        await sql`update polling_job_workspaces set status = 'running', started_at = now() where job_id = ${job.id} and workspace_id = ${id}`;
        await sql`
          update polling_job_workspaces set status = 'synced', accounts_synced = 200, finished_at = now()
          where job_id = ${job.id} and workspace_id = ${id}
        `;
      }
    };
    await Promise.all([lane(), lane(), lane()]);
  });
  await sql`update polling_job_status set status = 'completed', completed_at = now() where id = ${job.id}`;
  await sql`delete from polling_job_status where id = ${job.id}`;
  return elapsed;
}
