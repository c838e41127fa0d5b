import type { Sql } from '../db/client';
import { appSchema, findDerivedColumns, findObjects, installedSchemas } from './catalog';
import { ident } from './definitions';
import { dropCode } from './install';

export interface UninstallResult {
  /** Where compat was found; none when it was not installed. */
  schemas: string[];
  removed: string[];
}

/**
 * Removes what install created, found by its marker: the triggers on sender-sync's tables,
 * the views and functions, and the tables (sync_progress, the pricing rules, the counts).
 * Never a legacy_* relation, nor any object of another system, nor sender-sync's own tables.
 */
export async function uninstallCompat(sql: Sql): Promise<UninstallResult> {
  return sql.begin(async (tx) => {
    const db = tx as unknown as Sql;
    await db`select pg_advisory_xact_lock(hashtext('sender-sync compat'))`;
    const schemas = await installedSchemas(db);
    const app = await appSchema(db);
    const removed: string[] = [];
    for (const schema of schemas) {
      const ours = (await findObjects(db, schema)).filter((o) => o.ours);
      if (app) await db.unsafe(dropCode({ target: schema, app }));
      for (const object of ours.filter((o) => o.kind === 'table')) {
        await db.unsafe(`drop table if exists ${ident(schema)}.${ident(object.name)}`);
      }
      removed.push(...ours.map((o) => `${o.kind} ${schema}.${o.name}`));
    }
    // The generated columns go last: the views read them.
    for (const column of app ? await findDerivedColumns(db, app) : []) {
      await db.unsafe(`alter table ${ident(app as string)}.sender_emails drop column ${ident(column)}`);
      removed.push(`column ${app}.sender_emails.${column}`);
    }
    return { schemas, removed };
  });
}
