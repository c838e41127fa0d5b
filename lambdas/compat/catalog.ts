import type { Sql } from '../db/client';
import { COMPAT_FUNCTIONS, COMPAT_MARKER, COMPAT_RELATIONS, COMPAT_TRIGGERS, COMPAT_VERSION, DERIVED_COLUMNS } from './definitions';

/** An object of one of compat's names found in a schema: sender-sync's (its comment's marker) or another system's. */
export interface FoundObject {
  name: string;
  /** table, view, materialized view, function, ... as Postgres has it. */
  kind: string;
  ours: boolean;
  /** The marker's version when ours. */
  version?: number;
}

const RELATION_KINDS: Record<string, string> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
  S: 'sequence',
  i: 'index',
  I: 'index',
  c: 'type',
};

const MARKER_PATTERN = new RegExp(`^${COMPAT_MARKER} v(\\d+):`);

function versionOf(comment: string | null): number | undefined {
  const match = comment ? MARKER_PATTERN.exec(comment) : null;
  return match ? Number(match[1]) : undefined;
}

export const ALL_NAMES: string[] = [...COMPAT_RELATIONS.map((r) => r.name), ...COMPAT_FUNCTIONS];

/** The objects of `names` in `schema` (relations and functions of any arguments), each said to be ours or not. */
export async function findObjects(sql: Sql, schema: string, names: string[] = ALL_NAMES): Promise<FoundObject[]> {
  const rows = await sql<{ name: string; kind: string; comment: string | null }[]>`
    select c.relname as name, c.relkind::text as kind, obj_description(c.oid, 'pg_class') as comment
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = any(${names}::text[])
    union all
    select p.proname, 'function', obj_description(p.oid, 'pg_proc')
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = ${schema} and p.proname = any(${names}::text[])
    order by 1
  `;
  return rows.map((row) => {
    const version = versionOf(row.comment);
    return {
      name: row.name,
      kind: row.kind === 'function' ? 'function' : (RELATION_KINDS[row.kind] ?? row.kind),
      ours: version !== undefined,
      ...(version === undefined ? {} : { version }),
    };
  });
}

/** The schema sender-sync's tables live in (that of sender_emails, as this session's search_path finds it). */
export async function appSchema(sql: Sql): Promise<string | undefined> {
  const [row] = await sql<{ schema: string }[]>`
    select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.oid = to_regclass('sender_emails')
  `;
  return row?.schema;
}

/** compat's triggers on sender-sync's tables, with the schema of the function each runs: where compat is installed. */
export async function findTriggers(sql: Sql, app: string): Promise<{ table: string; name: string; functionSchema: string }[]> {
  const names = [...new Set(COMPAT_TRIGGERS.map((t) => t.name))];
  return sql<{ table: string; name: string; functionSchema: string }[]>`
    select c.relname as table, t.tgname as name, fn.nspname as "functionSchema"
    from pg_trigger t
    join pg_class c on c.oid = t.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_proc p on p.oid = t.tgfoid
    join pg_namespace fn on fn.oid = p.pronamespace
    where n.nspname = ${app} and t.tgname = any(${names}::text[])
    order by 1, 2
  `;
}

/** compat's generated columns on sender_emails (by their comments' marker). */
export async function findDerivedColumns(sql: Sql, app: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select a.attname as name
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${app} and c.relname = 'sender_emails' and a.attname = any(${[...DERIVED_COLUMNS]}::text[])
      and not a.attisdropped and starts_with(coalesce(col_description(c.oid, a.attnum), ''), ${COMPAT_MARKER})
    order by 1
  `;
  return rows.map((row) => row.name);
}

/** Installed completely, at this version, in `schema`. */
export function isComplete(objects: FoundObject[], triggers: { functionSchema: string }[], columns: string[], schema: string): boolean {
  const ours = objects.filter((o) => o.ours && o.version === COMPAT_VERSION);
  return (
    ALL_NAMES.every((name) => ours.some((o) => o.name === name)) &&
    triggers.length === COMPAT_TRIGGERS.length &&
    triggers.every((t) => t.functionSchema === schema) &&
    columns.length === DERIVED_COLUMNS.length
  );
}

/** The schemas holding an object with compat's marker (where it is installed, whichever the schema). */
export async function installedSchemas(sql: Sql): Promise<string[]> {
  const rows = await sql<{ schema: string }[]>`
    select distinct n.nspname as schema
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relname = any(${ALL_NAMES}::text[]) and starts_with(coalesce(obj_description(c.oid, 'pg_class'), ''), ${COMPAT_MARKER})
    union
    select n.nspname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.proname = any(${ALL_NAMES}::text[]) and starts_with(coalesce(obj_description(p.oid, 'pg_proc'), ''), ${COMPAT_MARKER})
    order by 1
  `;
  return rows.map((row) => row.schema);
}

export const SUPABASE_ROLES = ['anon', 'authenticated', 'service_role'] as const;

export async function presentRoles(sql: Sql): Promise<string[]> {
  const rows = await sql<
    { rolname: string }[]
  >`select rolname from pg_roles where rolname = any(${[...SUPABASE_ROLES]}::text[]) order by rolname`;
  return rows.map((row) => row.rolname);
}
