/*
 * The relations the replaced system's dashboard reads, as sender-sync provides them over its
 * own tables (issue 23). Plain views, so every read sees what sender_emails holds now; what a
 * view cannot afford per row at every read is kept at write time: provider and reseller as
 * generated columns of sender_emails, a workspace's mailboxes on a domain (ScaledMail's
 * price) by statement-level triggers in compat_domain_mailboxes. Every object carries
 * COMPAT_MARKER in its comment: what install, status and uninstall go by. Here: the names,
 * the tables and the rules; views.ts and triggers.ts hold the rest of the DDL.
 *
 * DDL takes no bind parameters: the schema names are quoted identifiers (ident), and the
 * only literals are the code's own.
 */

export const COMPAT_VERSION = 1;
export const COMPAT_MARKER = 'sender-sync compat';

/** What `compat install` creates in the dashboard's schema, in creation order. */
export const COMPAT_RELATIONS = [
  { name: 'compat_pricing_rules', kind: 'table' },
  { name: 'compat_domain_mailboxes', kind: 'table' },
  { name: 'sync_progress', kind: 'table' },
  { name: 'email_accounts_raw', kind: 'view' },
  { name: 'email_accounts_view', kind: 'view' },
] as const;

export const COMPAT_FUNCTIONS = [
  'refresh_email_accounts_view',
  'compat_mailboxes_added',
  'compat_mailboxes_changed',
  'compat_mailboxes_removed',
  'compat_mailboxes_cleared',
  'compat_progress_job_started',
  'compat_progress_job_changed',
  'compat_progress_workspaces_added',
  'compat_progress_workspace_changed',
] as const;

/** Triggers on sender-sync's own tables (in the schema of sender_emails). */
export const COMPAT_TRIGGERS = [
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_insert' },
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_update' },
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_delete' },
  { table: 'sender_emails', name: 'sender_sync_compat_mailboxes_truncate' },
  { table: 'polling_job_status', name: 'sender_sync_compat_progress_insert' },
  { table: 'polling_job_status', name: 'sender_sync_compat_progress_update' },
  { table: 'polling_job_workspaces', name: 'sender_sync_compat_progress_insert' },
  { table: 'polling_job_workspaces', name: 'sender_sync_compat_progress_update' },
] as const;

/** The replaced system's price rules (poll-sender-emails' calculatePricing), first match wins. */
export const DEFAULT_PRICING_RULES = [
  { position: 10, field: 'reseller', match: 'contains', pattern: 'cheapinboxes', price: '3.00', perDomain: false },
  { position: 20, field: 'reseller', match: 'equals', pattern: 'zapmail', price: '3.00', perDomain: false },
  { position: 30, field: 'reseller', match: 'equals', pattern: 'mailr', price: '0.91', perDomain: false },
  { position: 40, field: 'reseller', match: 'equals', pattern: 'scaledmail', price: '50.00', perDomain: true },
  { position: 50, field: 'provider', match: 'equals', pattern: 'google', price: '3.00', perDomain: false },
  { position: 60, field: 'provider', match: 'equals', pattern: 'gmail', price: '3.00', perDomain: false },
] as const;

/** The tag names the replaced system read (extractProvider: equal, case-sensitive; extractReseller: contained, case-sensitive). */
export const PROVIDER_TAGS = ['Gmail', 'Outlook', 'Microsoft', 'Google', 'Yahoo', 'iCloud', 'AOL'] as const;
export const RESELLER_WORDS = ['CheapInboxes', 'Zapmail', 'ScaledMail', 'Mailr', 'Inbox', 'Reseller'] as const;

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function marker(what: string): string {
  return literal(`${COMPAT_MARKER} v${COMPAT_VERSION}: ${what}`);
}

export interface CompatSchemas {
  /** Where the dashboard reads (public on Supabase). */
  target: string;
  /** Where sender-sync's tables are (the schema of sender_emails). */
  app: string;
}

/** The tables: created once, kept by a re-install of another version (their rows are the operator's and the runs'). */
export function tablesDdl({ target, app }: CompatSchemas): string {
  const t = ident(target);
  const rules = DEFAULT_PRICING_RULES.map(
    (r) => `(${r.position}, ${literal(r.field)}, ${literal(r.match)}, ${literal(r.pattern)}, ${r.price}, ${r.perDomain})`,
  ).join(',\n  ');
  return `
create table if not exists ${t}.compat_pricing_rules (
  position integer not null constraint compat_pricing_rules_pkey primary key,
  field text not null constraint compat_pricing_rules_field check (field in ('reseller', 'provider')),
  match text not null constraint compat_pricing_rules_match check (match in ('equals', 'contains')),
  pattern text not null constraint compat_pricing_rules_pattern check (btrim(pattern) <> ''),
  price numeric(12, 2) not null constraint compat_pricing_rules_price check (price >= 0),
  per_domain_mailboxes boolean not null default false,
  updated_at timestamptz not null default now()
);
comment on table ${t}.compat_pricing_rules is ${marker(
    "price rules of email_accounts_view, tried by position, first match wins; match is case-insensitive on the account's reseller or provider; per_domain_mailboxes divides price by the workspace's live mailboxes on the account's domain",
  )};
insert into ${t}.compat_pricing_rules (position, field, match, pattern, price, per_domain_mailboxes) values
  ${rules}
on conflict (position) do nothing;

create table if not exists ${t}.compat_domain_mailboxes (
  workspace_id integer not null,
  domain text not null,
  mailboxes integer not null,
  constraint compat_domain_mailboxes_pkey primary key (workspace_id, domain)
);
comment on table ${t}.compat_domain_mailboxes is ${marker(
    `live sender_emails per (workspace, domain), kept by triggers on ${app}.sender_emails: ScaledMail's price divides by it`,
  )};

create table if not exists ${t}.sync_progress (
  id uuid not null default gen_random_uuid() constraint compat_sync_progress_pkey primary key,
  job_id uuid not null,
  job_name text not null,
  total_workspaces integer not null default 0,
  workspaces_completed integer default 0,
  current_workspace text,
  total_accounts integer default 0,
  status text default 'running' constraint compat_sync_progress_status check (status in ('running', 'completed', 'failed')),
  error_message text,
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz
);
create unique index if not exists compat_sync_progress_job_id_idx on ${t}.sync_progress (job_id);
create index if not exists compat_sync_progress_status_idx on ${t}.sync_progress (status);
create index if not exists compat_sync_progress_started_idx on ${t}.sync_progress (started_at desc);
comment on table ${t}.sync_progress is ${marker(
    `one row per run, kept current by triggers on ${app}.polling_job_status and polling_job_workspaces`,
  )};
`;
}

/** compat's stored generated columns on sender_emails (views.ts). */
export const DERIVED_COLUMNS = ['compat_email_provider', 'compat_reseller'] as const;
