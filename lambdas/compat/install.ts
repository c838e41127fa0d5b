import type { Sql } from '../db/client';
import {
  appSchema,
  findDerivedColumns,
  findObjects,
  findTriggers,
  type FoundObject,
  installedSchemas,
  isComplete,
  presentRoles,
  SUPABASE_ROLES,
} from './catalog';
import { COMPAT_FUNCTIONS, COMPAT_TRIGGERS, type CompatSchemas, ident, tablesDdl } from './definitions';
import { mailboxesDdl, progressDdl } from './triggers';
import { derivedColumnsDdl, viewsDdl } from './views';

export type InstallResult =
  | {
      status: 'installed' | 'unchanged';
      schema: string;
      appSchema: string;
      renamed: { from: string; to: string; kind: string }[];
      grants: string;
    }
  | { status: 'refused'; schema: string; reason: string; conflicts: FoundObject[] };

/**
 * Creates the dashboard's relations in `schema` (COMPAT_* in definitions.ts), in one
 * transaction: all or nothing. A second install at the same version changes nothing. Objects
 * of those names that are not sender-sync's make it refuse, naming them, unless
 * `renameLegacy`, which first renames each to legacy_<name> (its data, indexes and
 * policies go with it).
 */
export async function installCompat(sql: Sql, options: { schema: string; renameLegacy?: boolean }): Promise<InstallResult> {
  const { schema } = options;
  return sql.begin(async (tx) => {
    const db = tx as unknown as Sql;
    await db`select pg_advisory_xact_lock(hashtext('sender-sync compat'))`;
    const [exists] = await db`select 1 from pg_namespace where nspname = ${schema}`;
    if (!exists) return refused(schema, `schema "${schema}" does not exist (create it, or name another with --schema)`, []);
    const app = await appSchema(db);
    if (!app) return refused(schema, 'no sender_emails table: run `sender-sync migrate` first', []);
    const elsewhere = (await installedSchemas(db)).filter((s) => s !== schema);
    if (elsewhere.length > 0) {
      return refused(schema, `already installed in schema "${elsewhere[0]}": \`sender-sync compat uninstall\` first`, []);
    }

    const found = await findObjects(db, schema);
    const foreign = found.filter((o) => !o.ours);
    if (foreign.length > 0 && !options.renameLegacy) {
      return refused(
        schema,
        `${foreign.map((o) => `${o.kind} ${schema}.${o.name}`).join(', ')} ${foreign.length > 1 ? 'are' : 'is'} not sender-sync's: rename ${foreign.length > 1 ? 'them' : 'it'} first, or run again with --rename-legacy (${foreign.map((o) => `legacy_${o.name}`).join(', ')})`,
        foreign,
      );
    }
    const taken = await findObjects(
      db,
      schema,
      foreign.map((o) => `legacy_${o.name}`),
    );
    if (taken.length > 0) {
      return refused(
        schema,
        `cannot rename the legacy objects: ${taken.map((o) => `${schema}.${o.name}`).join(', ')} already exist`,
        foreign,
      );
    }

    const roles = await presentRoles(db);
    const grants = grantsNote(roles);
    if (foreign.length === 0 && isComplete(found, await findTriggers(db, app), await findDerivedColumns(db, app), schema)) {
      return { status: 'unchanged', schema, appSchema: app, renamed: [], grants };
    }

    const renamed = [];
    for (const object of foreign) {
      await db.unsafe(renameStatement(schema, object));
      renamed.push({ from: object.name, to: `legacy_${object.name}`, kind: object.kind });
    }
    const names = { target: schema, app };
    // Views and triggers are made again (a partial or older install); the tables keep their rows.
    await db.unsafe(dropCode(names));
    await db.unsafe(tablesDdl(names));
    await db.unsafe(mailboxesDdl(names));
    await db.unsafe(progressDdl(names));
    await db.unsafe(derivedColumnsDdl(names));
    await db.unsafe(viewsDdl(names));
    await db.unsafe(accessDdl(schema, roles));
    // The planner needs the new columns' and tables' statistics to cache the rule lookups (Memoize).
    await db.unsafe(
      `analyze ${ident(app)}.sender_emails (compat_email_provider, compat_reseller); analyze ${ident(schema)}.compat_pricing_rules; analyze ${ident(schema)}.compat_domain_mailboxes`,
    );
    return { status: 'installed', schema, appSchema: app, renamed, grants };
  });
}

function refused(schema: string, reason: string, conflicts: FoundObject[]): InstallResult {
  return { status: 'refused', schema, reason, conflicts };
}

function grantsNote(roles: string[]): string {
  const missing = SUPABASE_ROLES.filter((role) => !roles.includes(role));
  if (missing.length === 0) return "granted as the replaced system's: anon and authenticated read, service_role all";
  if (roles.length === 0) return 'skipped: no Supabase roles (anon, authenticated, service_role) on this server';
  return `granted to ${roles.join(', ')}; skipped for ${missing.join(', ')} (absent on this server)`;
}

function renameStatement(schema: string, object: FoundObject): string {
  const from = `${ident(schema)}.${ident(object.name)}`;
  const to = ident(`legacy_${object.name}`);
  switch (object.kind) {
    case 'function':
      return `do $$ declare f regprocedure; begin
        for f in select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname = ${quoteLiteral(schema)} and p.proname = ${quoteLiteral(object.name)}
        loop execute format('alter routine %s rename to %I', f, ${quoteLiteral(`legacy_${object.name}`)}); end loop;
      end $$`;
    case 'view':
      return `alter view ${from} rename to ${to}`;
    case 'materialized view':
      return `alter materialized view ${from} rename to ${to}`;
    case 'sequence':
      return `alter sequence ${from} rename to ${to}`;
    case 'index':
      return `alter index ${from} rename to ${to}`;
    case 'foreign table':
      return `alter foreign table ${from} rename to ${to}`;
    case 'type':
      return `alter type ${from} rename to ${to}`;
    default:
      return `alter table ${from} rename to ${to}`;
  }
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** What install makes again and uninstall removes first: the code (triggers, functions, views), never a table. */
export function dropCode({ target, app }: CompatSchemas): string {
  const t = ident(target);
  const a = ident(app);
  return [
    ...COMPAT_TRIGGERS.map((trigger) => `drop trigger if exists ${ident(trigger.name)} on ${a}.${ident(trigger.table)};`),
    `drop view if exists ${t}.email_accounts_view;`,
    `drop view if exists ${t}.email_accounts_raw;`,
    ...COMPAT_FUNCTIONS.map((name) => `drop function if exists ${t}.${ident(name)}();`),
  ].join('\n');
}

/**
 * The replaced system's access: the dashboard (anon, authenticated) reads the account
 * relations and sync_progress, service_role writes; row-level security on the tables with
 * its policies. The pricing and count tables are sender-sync's: service_role only. Supabase's
 * default privileges grant every new relation in public to anon: revoked first. On plain
 * Postgres (no such roles) only row-level security and the public read policy are set.
 */
function accessDdl(schema: string, roles: string[]): string {
  const t = ident(schema);
  const has = (role: string) => roles.includes(role);
  const readers = ['anon', 'authenticated'].filter(has);
  const lines = [
    `alter table ${t}.sync_progress enable row level security;`,
    `alter table ${t}.compat_pricing_rules enable row level security;`,
    `alter table ${t}.compat_domain_mailboxes enable row level security;`,
    `drop policy if exists "Public read access on sync_progress" on ${t}.sync_progress;`,
    `create policy "Public read access on sync_progress" on ${t}.sync_progress for select using (true);`,
  ];
  for (const table of ['sync_progress', 'compat_pricing_rules', 'compat_domain_mailboxes', 'email_accounts_raw', 'email_accounts_view']) {
    if (roles.length > 0) lines.push(`revoke all on ${t}.${table} from ${roles.map(ident).join(', ')};`);
  }
  for (const view of ['email_accounts_raw', 'email_accounts_view']) {
    for (const role of [...readers, ...(has('service_role') ? ['service_role'] : [])])
      lines.push(`grant select on ${t}.${view} to ${role};`);
  }
  for (const role of readers) lines.push(`grant select on ${t}.sync_progress to ${role};`);
  if (has('anon')) {
    lines.push(`drop policy if exists "Anon read access on sync_progress" on ${t}.sync_progress;`);
    lines.push(`create policy "Anon read access on sync_progress" on ${t}.sync_progress for select to anon using (true);`);
  }
  if (has('service_role')) {
    for (const table of ['sync_progress', 'compat_pricing_rules', 'compat_domain_mailboxes']) {
      lines.push(`grant all on ${t}.${table} to service_role;`);
      lines.push(`drop policy if exists "Service role full access on ${table}" on ${t}.${table};`);
      lines.push(
        `create policy "Service role full access on ${table}" on ${t}.${table} for all to service_role using (true) with check (true);`,
      );
    }
  }
  for (const role of roles) lines.push(`grant execute on function ${t}.refresh_email_accounts_view() to ${role};`);
  return lines.join('\n');
}
