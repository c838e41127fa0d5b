import type { Sql } from '../lambdas/db/client';
import { describeError, redactSecrets } from '../lambdas/errors';
import { recordBinding } from '../lambdas/workspaces/binding';
import { upsertWorkspace, type Workspace } from '../lambdas/workspaces/registry';
import type { CheckedBinding } from './bindings';

export { instanceUrl } from './instance-labels';

/*
 * What `workspaces discover` and `workspaces import --from-client-registry` share: where a
 * workspace is already registered (its EmailBison id on the same instance), the name a new
 * one gets, and the registration of one workspace with its id and checked binding.
 */

/** Usage errors (a missing key, a missing argument) exit 64, as sysexits' EX_USAGE. */
/** Longest workspace name registered; longer EmailBison names are cut. */
export const MAX_NAME_LENGTH = 200;

/** Rows store base URLs without trailing slashes; an instance is compared that way, case and a trailing /api aside. */
export function instanceOf(baseUrl: string): string {
  return baseUrl
    .trim()
    .replace(/\/+$/, '')
    .replace(/\/api$/i, '')
    .toLowerCase();
}

/** The registered row for this EmailBison workspace on this instance, if any. */
export function registeredRowFor(rows: readonly Workspace[], baseUrl: string, emailbisonId: number): Workspace | undefined {
  return rows.find((row) => row.emailbisonWorkspaceId === emailbisonId && instanceOf(row.baseUrl) === instanceOf(baseUrl));
}

/** One line, no control characters, bounded: a name fit for the registry and a table. */
export function cleanName(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  const oneLine = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  const name = oneLine.replace(/\s+/g, ' ').trim();
  return [...name].slice(0, MAX_NAME_LENGTH).join('');
}

/**
 * The name to register an EmailBison workspace under: its own, or, when another row (of
 * any instance) has it already, the name with its EmailBison id, so two clients never share one row.
 */
export function registrationName(emailbisonName: string, emailbisonId: number, taken: Set<string>): string {
  const base = cleanName(emailbisonName) || `EmailBison workspace ${emailbisonId}`;
  const name = taken.has(base.toLowerCase()) ? `${[...base].slice(0, MAX_NAME_LENGTH - 24).join('')} (EmailBison ${emailbisonId})` : base;
  taken.add(name.toLowerCase());
  return name;
}

/** Registers (or updates) one workspace with its EmailBison id and records the binding GET /api/users reported. */
export async function registerBoundWorkspace(
  sql: Sql,
  workspace: { name: string; baseUrl: string; apiKeyRef: string; emailbisonWorkspaceId: number | null; instanceLabel?: string | null },
  checked: CheckedBinding,
): Promise<Workspace> {
  const row = await upsertWorkspace(sql, { ...workspace, active: true });
  if (checked.binding.status === 'bound') await recordBinding(sql, row.id, checked.binding);
  return row;
}

/** A short reason a binding check gives, for a table cell. */
export function bindingCell(checked: CheckedBinding | undefined): string {
  if (!checked) return '';
  return checked.binding.status === 'bound' ? `reads ${checked.binding.id}` : `not checked: ${checked.binding.reason}`;
}

/** An error's one-line description with every secret given replaced. */
export function describeRedacted(error: unknown, secrets: readonly string[]): string {
  return redactSecrets(describeError(error), secrets);
}
