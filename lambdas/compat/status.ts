import type { Sql } from '../db/client';
import {
  ALL_NAMES,
  appSchema,
  findDerivedColumns,
  findObjects,
  findTriggers,
  type FoundObject,
  installedSchemas,
  isComplete,
} from './catalog';
import { COMPAT_VERSION } from './definitions';
import { listPricingRules, type PricingRule } from './pricing';

/** The job name the dashboard reads its "last sync" by (polling_job_status.job_name). */
export const DASHBOARD_JOB_NAME = 'poll-sender-emails';
export const REALTIME_PUBLICATION = 'supabase_realtime';

export interface CompatStatus {
  installed: boolean;
  /** Every object at this version, the triggers in place. */
  complete: boolean;
  schema: string | null;
  appSchema: string | null;
  version: number;
  objects: FoundObject[];
  triggers: { table: string; name: string }[];
  /** Generated columns on sender_emails (provider and reseller from the tags). */
  columns: string[];
  /** legacy_* relations and functions install renamed, in the schema. */
  legacy: FoundObject[];
  pricingRules: PricingRule[];
  realtime: { publication: string; exists: boolean; published: boolean | null };
  jobName: { configured: string; dashboard: string; matches: boolean };
  warnings: string[];
}

/** What compat has installed and where; read-only. `schema` is where to look when nothing is installed. */
export async function compatStatus(sql: Sql, options: { schema: string; jobName: string }): Promise<CompatStatus> {
  const schemas = await installedSchemas(sql);
  const schema = schemas[0] ?? options.schema;
  const app = (await appSchema(sql)) ?? null;
  const objects = await findObjects(sql, schema);
  const triggers = app ? await findTriggers(sql, app) : [];
  const columns = app ? await findDerivedColumns(sql, app) : [];
  const legacy = await findObjects(
    sql,
    schema,
    ALL_NAMES.map((name) => `legacy_${name}`),
  );
  const installed = schemas.length > 0;
  const pricingRules = objects.some((o) => o.ours && o.name === 'compat_pricing_rules') ? await listPricingRules(sql, schema) : [];
  const [publication] = await sql<{ exists: boolean; published: boolean }[]>`
    select true as exists, exists (
      select 1 from pg_publication_tables t where t.pubname = p.pubname and t.schemaname = ${schema} and t.tablename = 'sync_progress'
    ) as published
    from pg_publication p where p.pubname = ${REALTIME_PUBLICATION}
  `;
  const realtime = {
    publication: REALTIME_PUBLICATION,
    exists: Boolean(publication),
    published: publication ? publication.published : null,
  };
  const jobName = { configured: options.jobName, dashboard: DASHBOARD_JOB_NAME, matches: options.jobName === DASHBOARD_JOB_NAME };
  const warnings: string[] = [];
  if (!jobName.matches) {
    warnings.push(
      `JOB_NAME is "${options.jobName}", but the dashboard reads the runs of "${DASHBOARD_JOB_NAME}": set JOB_NAME=${DASHBOARD_JOB_NAME} (CDK context jobName, and the local environment)`,
    );
  }
  const complete = installed && isComplete(objects, triggers, columns, schema);
  if (installed && !complete)
    warnings.push(`the install in schema "${schema}" is incomplete or of another version: run \`sender-sync compat install\` again`);
  if (schemas.length > 1) warnings.push(`installed in several schemas: ${schemas.join(', ')}`);
  const foreign = objects.filter((o) => !o.ours);
  if (foreign.length > 0) warnings.push(`not sender-sync's: ${foreign.map((o) => `${o.kind} ${schema}.${o.name}`).join(', ')}`);
  if (installed && realtime.exists && !realtime.published) {
    warnings.push(
      `${schema}.sync_progress is not in the ${REALTIME_PUBLICATION} publication: the progress bar updates only when the page polls (docs/dashboard.md)`,
    );
  }
  return {
    installed,
    complete,
    schema: installed ? schema : null,
    appSchema: app,
    version: COMPAT_VERSION,
    objects: objects.filter((o) => o.ours),
    triggers: triggers.map(({ table, name }) => ({ table, name })),
    columns,
    legacy,
    pricingRules,
    realtime,
    jobName,
    warnings,
  };
}
