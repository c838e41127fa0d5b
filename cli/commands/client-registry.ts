import { closeSharedDispatchers } from '../../lambdas/emailbison/client';
import { createSql, type Sql } from '../../lambdas/db/client';
import { describeError, InvalidInputError, UsageError } from '../../lambdas/errors';
import { listWorkspaces } from '../../lambdas/workspaces/registry';
import { bindingRefusals, checkBindings, type CheckedBinding } from '../bindings';
import { withCliContext } from '../context';
import { withApiKeysStored } from '../key-store';
import { type InstanceMappings, resolveInstance } from '../instance-labels';
import { bindingCell, cleanName, describeRedacted, instanceOf, registerBoundWorkspace } from '../onboarding';
import { table } from '../table';
import { fail, printJson } from '../output';
import { importWorkspacesCommand, keyStore, type StoreOptions } from './workspaces';
import { visible } from '../terminal-text';

/*
 * `workspaces import --from-client-registry`: the cut-over from the replaced system, whose
 * `client_registry` table (workspace_name, bison_workspace_id, bison_instance, bison_api_key,
 * is_active) holds each workspace's key in plain text. Each active row's key moves into the
 * secret store and the workspace is registered with its EmailBison id and instance, all or
 * nothing, as `workspaces import <file>` does. Refused, nothing stored: a key on several rows
 * (the replaced system's shared admin key), a key GET /api/users says reads another workspace
 * than the row's bison_workspace_id, a key EmailBison rejects, a bison_instance label with no
 * `--instance 'Label=https://…'` (the replaced registry names instances by label; the label is
 * recorded on the row). No key is ever printed.
 */

export interface ImportOptions extends StoreOptions {
  fromClientRegistry?: string | boolean;
  /** `--instance 'Label=https://…'`, repeatable: the base URL of each bison_instance label. */
  instance?: InstanceMappings;
  clearPlaintextKeys?: boolean;
  json?: boolean;
}

/** `workspaces import [file]`: a file, or the replaced system's table; not both, not neither. */
export async function importCommand(file: string | undefined, options: ImportOptions): Promise<void> {
  if (options.fromClientRegistry === undefined) {
    if (!file) return usage('workspaces import needs a CSV or JSON file, or --from-client-registry [database-url].');
    if (options.clearPlaintextKeys) return usage('--clear-plaintext-keys goes with --from-client-registry.');
    if (options.instance?.size) return usage('--instance goes with --from-client-registry.');
    return importWorkspacesCommand(file, options);
  }
  if (file) return usage(`give a file or --from-client-registry, not both ("${file}").`);
  const sourceUrl = typeof options.fromClientRegistry === 'string' ? options.fromClientRegistry : undefined;
  const keys: string[] = [];
  try {
    await importClientRegistry(sourceUrl, options, keys);
  } catch (error) {
    // A database error can quote a row (a failing UPDATE): every key read is taken out first.
    console.error(`sender-sync: ${describeRedacted(error, keys)}`);
    process.exitCode = 1;
  } finally {
    await closeSharedDispatchers();
  }
}

interface RegistryRow {
  workspace_name: string | null;
  bison_workspace_id: string | null;
  bison_instance: string | null;
  bison_api_key: string | null;
  is_active: boolean | null;
}

export interface CutOverRow {
  name: string;
  baseUrl: string;
  /** The row's bison_instance when it was a label (mapped by --instance); null for a URL or host. */
  instanceLabel: string | null;
  emailbisonId: number | null;
  apiKey: string;
}

export interface CutOverPlan {
  rows: CutOverRow[];
  /** Active rows without a key: named in the report, not imported, not a failure. */
  noKey: string[];
  /** Rows with is_active false: left alone. */
  inactive: string[];
  /** Why nothing can be imported; empty when all rows may go in. Never a key. */
  problems: string[];
}

/** `keys` receives every key read, for the caller to redact from any error. */
async function importClientRegistry(sourceUrl: string | undefined, options: ImportOptions, keys: string[]): Promise<void> {
  await withCliContext(async (context) => {
    const source = sourceUrl ? createSql({ url: sourceUrl, max: 1 }) : context.db.sql;
    try {
      const records = await readClientRegistry(source);
      for (const record of records) if (record.bison_api_key?.trim()) keys.push(record.bison_api_key.trim());
      const plan = planCutOver(records, options.instance);
      const checked = plan.problems.length === 0 ? await checkBindings(plan.rows.map(candidate)) : [];
      const refusals = [
        ...plan.problems,
        ...rejectedKeys(checked),
        ...bindingRefusals(
          (await listWorkspaces(context.db.sql)).map((w) => ({
            name: w.name,
            baseUrl: w.baseUrl,
            recordedId: w.emailbisonWorkspaceId,
            active: w.active,
          })),
          checked,
        ),
      ];
      if (refusals.length > 0) {
        console.error('sender-sync: refused, nothing imported or stored:');
        for (const refusal of refusals) console.error(visible(`  ${refusal}`));
        if (plan.noKey.length > 0) console.error(`  rows with no key (not imported either way): ${quoted(plan.noKey)}`);
        process.exitCode = 2;
        return;
      }
      const store = keyStore(context, options);
      const register = async (refs: Record<string, string>) =>
        context.db.sql.begin(async (tx) => {
          for (const [index, row] of plan.rows.entries()) {
            await registerBoundWorkspace(
              tx as unknown as Sql,
              {
                name: row.name,
                baseUrl: row.baseUrl,
                apiKeyRef: refs[row.name],
                emailbisonWorkspaceId: row.emailbisonId,
                instanceLabel: row.instanceLabel,
              },
              checked[index],
            );
          }
        });
      // All or nothing: if registering fails, the secret store is put back as it was.
      if (plan.rows.length > 0) await withApiKeysStored(store, Object.fromEntries(plan.rows.map((r) => [r.name, r.apiKey])), register);
      let cleared: number | null = null;
      if (options.clearPlaintextKeys && plan.rows.length > 0) {
        const moved = plan.rows.map((r) => r.apiKey);
        const result = await source`update client_registry set bison_api_key = null where btrim(bison_api_key) in ${source(moved)}`;
        cleared = result.count;
      }
      report(plan, checked, { json: options.json === true, store: options.store ?? 'file', cleared });
    } finally {
      if (source !== context.db.sql) await source.end({ timeout: 1 });
    }
  });
}

async function readClientRegistry(sql: Sql): Promise<RegistryRow[]> {
  try {
    return await sql<RegistryRow[]>`
      select workspace_name, bison_workspace_id::text as bison_workspace_id, bison_instance, bison_api_key, is_active
      from client_registry
      order by workspace_name
    `;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '42P01') throw new InvalidInputError('This database has no client_registry table: nothing to import.');
    if (code === '42703') {
      throw new InvalidInputError(
        'client_registry lacks a column sender-sync reads: workspace_name, bison_workspace_id, bison_instance, bison_api_key, is_active.',
      );
    }
    throw new InvalidInputError(`Could not read client_registry: ${describeError(error)}`, { cause: error });
  }
}

/** The rows to import and every reason they cannot be; pure, for tests. A null is_active counts as active. */
export function planCutOver(records: readonly RegistryRow[], instances: InstanceMappings = new Map()): CutOverPlan {
  const plan: CutOverPlan = { rows: [], noKey: [], inactive: [], problems: [] };
  /** Rows by the unmapped label they name, for one problem per label. */
  const unmapped = new Map<string, string[]>();
  const rowsByKey = new Map<string, string[]>();
  for (const record of records) {
    const key = record.bison_api_key?.trim();
    if (key) rowsByKey.set(key, [...(rowsByKey.get(key) ?? []), cleanName(record.workspace_name ?? '') || '(no name)']);
  }
  const shared = new Set([...rowsByKey].filter(([, names]) => names.length > 1).map(([key]) => key));
  for (const names of [...rowsByKey].filter(([key]) => shared.has(key)).map(([, n]) => n)) {
    plan.problems.push(
      `rows ${quoted(names)} hold one and the same key (the replaced system's shared admin key?); ` +
        'mint one api-user key per workspace: sender-sync workspaces discover --mint-keys',
    );
  }
  const seen = new Set<string>();
  for (const [index, record] of records.entries()) {
    const name = cleanName(record.workspace_name ?? '');
    const at = name ? `"${name}"` : `row ${index + 1} (no workspace_name)`;
    if (record.is_active === false) {
      plan.inactive.push(name || at);
      continue;
    }
    const apiKey = record.bison_api_key?.trim() ?? '';
    if (!apiKey) {
      plan.noKey.push(name || at);
      continue;
    }
    if (shared.has(apiKey)) continue;
    const problems: string[] = [];
    if (!name) problems.push(`${at}: no workspace_name`);
    else if (seen.has(name.toLowerCase())) problems.push(`${at}: the name appears on two active rows`);
    seen.add(name.toLowerCase());
    const instance = resolveInstance(record.bison_instance, instances);
    if (!instance.ok && instance.problem === 'unmapped')
      unmapped.set(instance.label, [...(unmapped.get(instance.label) ?? []), name || at]);
    if (!instance.ok && instance.problem === 'invalid') problems.push(`${at}: bison_instance is not an EmailBison label, host or URL`);
    const idText = record.bison_workspace_id?.trim() ?? '';
    if (idText && !/^\d+$/.test(idText)) problems.push(`${at}: bison_workspace_id is not a whole number`);
    if (!/^[\x21-\x7e]+$/.test(apiKey)) problems.push(`${at}: bison_api_key has characters an HTTP header cannot carry`);
    plan.problems.push(...problems);
    if (problems.length === 0 && instance.ok) {
      plan.rows.push({
        name,
        baseUrl: instance.baseUrl,
        instanceLabel: instance.label,
        emailbisonId: idText ? Number(idText) : null,
        apiKey,
      });
    }
  }
  for (const [label, rows] of unmapped) {
    plan.problems.push(`bison_instance "${label}" (rows ${quoted(rows)}) has no URL: map it with --instance '${label}=https://…'`);
  }
  return plan;
}

function candidate(row: CutOverRow) {
  return { name: row.name, baseUrl: row.baseUrl, apiKey: row.apiKey, statedId: row.emailbisonId };
}

/** A key EmailBison answers 401 cannot sync anything: refused like a wrong binding. */
function rejectedKeys(checked: CheckedBinding[]): string[] {
  return checked
    .filter((c) => c.binding.status === 'unknown' && /rejected the key/i.test(c.binding.reason))
    .map((c) => `"${c.name}": EmailBison at ${instanceOf(c.baseUrl)} rejected its key (HTTP 401)`);
}

function report(plan: CutOverPlan, checked: CheckedBinding[], run: { json: boolean; store: string; cleared: number | null }): void {
  if (run.json) {
    printJson({
      imported: plan.rows.map((row, index) => ({
        name: row.name,
        base_url: row.baseUrl,
        instance_label: row.instanceLabel,
        emailbison_workspace_id: checked[index].binding.status === 'bound' ? checked[index].binding.id : row.emailbisonId,
        binding: checked[index].binding,
      })),
      no_key: plan.noKey,
      inactive: plan.inactive,
      cleared_plaintext_keys: run.cleared,
    });
    return;
  }
  if (plan.rows.length > 0) {
    console.log(
      table(
        ['workspace', 'instance', 'base URL', 'EmailBison id', 'binding'],
        plan.rows.map((row, index) => [
          row.name,
          row.instanceLabel ?? '',
          row.baseUrl,
          row.emailbisonId ?? '',
          bindingCell(checked[index]),
        ]),
      ),
    );
  }
  const where = run.store === 'aws-sm' ? 'AWS Secrets Manager' : 'the local secrets file';
  console.log(
    `\nimported ${plan.rows.length} workspace${plan.rows.length === 1 ? '' : 's'} from client_registry; keys stored in ${where}.`,
  );
  if (plan.noKey.length > 0)
    console.log(`${plan.noKey.length} active row${plan.noKey.length === 1 ? '' : 's'} had no key, not imported: ${quoted(plan.noKey)}`);
  if (plan.inactive.length > 0) console.log(`${plan.inactive.length} inactive row${plan.inactive.length === 1 ? '' : 's'} left alone.`);
  if (run.cleared !== null) console.log(`cleared ${run.cleared} plain-text key${run.cleared === 1 ? '' : 's'} in client_registry.`);
  else if (plan.rows.length > 0)
    console.log('client_registry still holds the plain-text keys: run again with --clear-plaintext-keys once the sync works.');
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `"${visible(name)}"`).join(', ');
}

/** A usage error: one line, exit 64 (as every command). */
function usage(message: string): never {
  return fail(new UsageError(message));
}
