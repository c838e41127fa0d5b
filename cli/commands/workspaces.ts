import path from 'node:path';
import { InvalidInputError } from '../../lambdas/errors';
import type { Sql } from '../../lambdas/db/client';
import { parseSecretReference } from '../../lambdas/secrets/resolve';
import { recordBinding } from '../../lambdas/workspaces/binding';
import {
  deactivateWorkspace,
  findWorkspaceByName,
  listWorkspaces,
  nameTaken,
  upsertWorkspace,
  type Workspace,
} from '../../lambdas/workspaces/registry';
import { apiKeyProblem, baseUrlProblem, workspaceNameProblem } from '../../lambdas/workspaces/validate';
import { bindingRefusals, checkBindings, describeBound, type BindingCandidate, type CheckedBinding } from '../bindings';
import { withCliContext, withReadContext, type CliContext } from '../context';
import { readWorkspaceFile } from '../import-file';
import { describeStore, withApiKeysStored, type KeyStore } from '../key-store';
import { fail, printJson } from '../output';
import { table } from '../table';
import { sortByName } from '../words';
import { visible } from '../terminal-text';

export interface StoreOptions {
  store?: string;
  secretArn?: string;
}

export function keyStore(context: CliContext, options: StoreOptions): KeyStore {
  const kind = options.store ?? 'file';
  if (kind === 'file') return { kind: 'file', file: context.secretsFile };
  if (kind === 'aws-sm') {
    const secretArn = options.secretArn ?? context.config.apiKeysSecretArn;
    if (!secretArn)
      throw new InvalidInputError('--store aws-sm needs --secret-arn (or API_KEYS_SECRET_ARN): the API-keys secret of the stack.');
    // Keys are written by workspace name: into the webhook secret, a name would overwrite it.
    const webhookSecretArn = context.config.webhookSecretArn;
    if (webhookSecretArn && secretName(secretArn) === secretName(webhookSecretArn)) {
      throw new InvalidInputError(`${secretArn} is the webhook secret (WEBHOOK_SECRET_ARN), not the API-keys secret; nothing stored.`);
    }
    return { kind: 'aws-sm', secretArn };
  }
  throw new InvalidInputError(`--store must be file or aws-sm, not "${kind}".`);
}

/** A secret's name, from its name, partial or complete ARN (which ends in "-" and 6 random characters). */
function secretName(id: string): string {
  const name = id.includes(':secret:') ? id.slice(id.indexOf(':secret:') + ':secret:'.length) : id;
  return id.startsWith('arn:') ? name.replace(/-[A-Za-z0-9]{6}$/, '') : name;
}

export async function addWorkspaceCommand(
  rawName: string,
  options: StoreOptions & {
    baseUrl: string;
    apiKeyRef?: string;
    apiKeyEnv?: string;
    inactive?: boolean;
    emailbisonId?: string;
    json?: boolean;
  },
): Promise<void> {
  try {
    // Everything that can be checked without the database is, before it is opened.
    const name = validName(rawName);
    const urlProblem = baseUrlProblem(options.baseUrl);
    if (urlProblem) throw new InvalidInputError(`Workspace "${name}": ${urlProblem}; nothing stored.`, { workspace: name });
    const baseUrl = options.baseUrl.trim();
    const emailbisonId = options.emailbisonId === undefined ? undefined : wholeId(options.emailbisonId);
    if (options.apiKeyRef) parseSecretReference(options.apiKeyRef, `API key of workspace "${name}"`);
    await withCliContext(async (context) => {
      const store = options.apiKeyRef ? undefined : keyStore(context, options);
      const registered = await findWorkspaceByName(context.db.sql, name);
      if (registered && registered.name !== name) throw nameTaken(name, registered.name);
      let apiKey: string | undefined;
      if (options.apiKeyRef) {
        apiKey = await context.secrets.resolve(options.apiKeyRef, `API key of workspace "${name}"`).catch(() => undefined);
      } else {
        apiKey = options.apiKeyEnv ? process.env[options.apiKeyEnv]?.trim() : await readStdinKey();
        if (!apiKey)
          throw new InvalidInputError(
            `No API key for "${name}": pass --api-key-ref, --api-key-env VAR, or pipe the key on standard input.`,
          );
        const keyProblem = apiKeyProblem(apiKey);
        if (keyProblem) throw new InvalidInputError(`The API key given for "${name}" is refused: ${keyProblem}; nothing stored.`);
      }
      const [checked] = apiKey
        ? await checkBindings([{ name, baseUrl, apiKey, statedId: emailbisonId }])
        : [
            {
              name,
              baseUrl,
              statedId: emailbisonId,
              binding: { status: 'unknown', reason: `could not read the key from ${describeRef(options.apiKeyRef!)}` },
            } satisfies CheckedBinding,
          ];
      if (refuseMixedBindings(await registeredBindings(context.db.sql), [checked])) return;
      const save = (apiKeyRef: string) =>
        context.db.sql.begin(async (tx) => {
          const row = await upsertWorkspace(tx as unknown as Sql, {
            name,
            baseUrl,
            apiKeyRef,
            emailbisonWorkspaceId: emailbisonId,
            active: !options.inactive,
          });
          return recordChecked(tx as unknown as Sql, row, checked);
        });
      const workspace = store
        ? await withApiKeysStored(store, { [name]: apiKey! }, (refs) => save(refs[name]))
        : await save(options.apiKeyRef!);
      if (options.json) printJson({ ...workspaceJson(workspace), binding: checked.binding });
      else
        console.log(
          visible(
            `workspace "${workspace.name}" saved (id ${workspace.id}, key in ${describeRef(workspace.apiKeyRef)}); ${bindingLine(checked)}`,
          ),
        );
    });
  } catch (error) {
    fail(error);
  }
}

/**
 * `workspaces list --json` (an array of these), and the workspace of `add --json` and
 * each item of `import --json` (with `binding`): where the key is, never the key.
 */
export interface WorkspaceJson {
  id: number;
  name: string;
  base_url: string;
  /** As the table shows it: "local secrets file", "AWS Secrets Manager (<secret>)", "environment variable VAR". */
  key_in: string;
  api_key_ref_kind: 'file' | 'aws-sm' | 'env';
  active: boolean;
  emailbison_workspace_id: number | null;
  /** The replaced registry's instance label ('Long Run') when imported with --instance; else null. */
  instance_label: string | null;
}

function workspaceJson(workspace: Workspace): WorkspaceJson {
  return {
    id: workspace.id,
    name: workspace.name,
    base_url: workspace.baseUrl,
    key_in: describeRef(workspace.apiKeyRef),
    api_key_ref_kind: parseSecretReference(workspace.apiKeyRef).source,
    active: workspace.active,
    emailbison_workspace_id: workspace.emailbisonWorkspaceId === null ? null : Number(workspace.emailbisonWorkspaceId),
    instance_label: workspace.instanceLabel ?? null,
  };
}

export async function listWorkspacesCommand(options: { json?: boolean; all?: boolean }): Promise<void> {
  await withReadContext(async ({ db }) => {
    const workspaces = sortByName(await db.read((sql) => listWorkspaces(sql, { activeOnly: !options.all })), (w) => w.name);
    if (options.json) return printJson(workspaces.map(workspaceJson));
    if (workspaces.length === 0)
      return console.log('No workspaces registered: `sender-sync workspaces add` or `import`; `npm start` uses the simulator meanwhile.');
    // The instance column only where some row came from the replaced registry with a label.
    const labelled = workspaces.some((w) => w.instanceLabel);
    console.log(
      table(
        ['id', 'workspace', ...(labelled ? ['instance'] : []), 'base URL', 'key in', 'active'],
        workspaces.map((w) => [
          w.id,
          w.name,
          ...(labelled ? [w.instanceLabel ?? ''] : []),
          w.baseUrl,
          describeRef(w.apiKeyRef),
          w.active ? 'yes' : 'no',
        ]),
      ),
    );
  }).catch(fail);
}

export async function removeWorkspaceCommand(name: string): Promise<void> {
  await withCliContext(async ({ db }) => {
    await deactivateWorkspace(db.sql, name);
    console.log(`workspace "${name.trim()}" deactivated: it is no longer synced; its accounts and history stay.`);
  }).catch(fail);
}

export async function importWorkspacesCommand(file: string, options: StoreOptions & { json?: boolean }): Promise<void> {
  try {
    // Every row is checked (names, URLs, keys, the file's shape) before the database is opened.
    const rows = await readWorkspaceFile(path.resolve(file));
    await withCliContext(async (context) => {
      const store = keyStore(context, options);
      const taken: string[] = [];
      for (const row of rows) {
        const registered = await findWorkspaceByName(context.db.sql, row.name);
        if (registered && registered.name !== row.name)
          taken.push(`${row.at}: "${row.name}" is already registered as "${registered.name}"`);
      }
      if (taken.length > 0)
        throw new InvalidInputError(
          `${file}: nothing imported: ${taken.join('; ')} (names are unique regardless of case; use the registered name to update it).`,
        );
      const candidates: BindingCandidate[] = rows.map((r) => ({
        name: r.name,
        baseUrl: r.baseUrl,
        apiKey: r.apiKey,
        statedId: r.emailbisonWorkspaceId,
      }));
      const checked = await checkBindings(candidates);
      if (refuseMixedBindings(await registeredBindings(context.db.sql), checked)) return;
      const keys = Object.fromEntries(rows.map((r) => [r.name, r.apiKey]));
      const saved = await withApiKeysStored(store, keys, (refs) =>
        context.db.sql.begin(async (tx) => {
          const workspaces: Workspace[] = [];
          for (const [index, row] of rows.entries()) {
            const workspace = await upsertWorkspace(tx as unknown as Sql, {
              name: row.name,
              baseUrl: row.baseUrl,
              apiKeyRef: refs[row.name],
              emailbisonWorkspaceId: row.emailbisonWorkspaceId,
            });
            workspaces.push(await recordChecked(tx as unknown as Sql, workspace, checked[index]));
          }
          return workspaces;
        }),
      );
      if (options.json) printJson(saved.map((workspace, index) => ({ ...workspaceJson(workspace), binding: checked[index].binding })));
      else {
        console.log(`imported ${rows.length} workspace${rows.length === 1 ? '' : 's'}; keys stored in ${describeStore(store)}`);
        for (const c of checked) console.log(visible(`  ${c.name}: ${bindingLine(c)}`));
      }
    });
  } catch (error) {
    fail(error);
  }
}

/**
 * A key that reads another workspace than its row states, or one another active row
 * already holds, or the same one as another key registered with it, would sync one
 * client's accounts into another's row (and then remove the row's own): refused, exit
 * 2, nothing stored. Returns whether it refused.
 */
function refuseMixedBindings(registered: Awaited<ReturnType<typeof registeredBindings>>, checked: CheckedBinding[]): boolean {
  const refusals = bindingRefusals(registered, checked);
  if (refusals.length === 0) return false;
  console.error(`sender-sync: refused, nothing stored: each row needs an api-user key minted for its own EmailBison workspace.`);
  for (const refusal of refusals) console.error(visible(`  ${refusal}`));
  process.exitCode = 2;
  return true;
}

async function registeredBindings(sql: Sql) {
  const rows = await listWorkspaces(sql);
  return rows.map((w) => ({ name: w.name, baseUrl: w.baseUrl, recordedId: w.emailbisonWorkspaceId, active: w.active }));
}

/** Stores the binding the instance reported (its id and name, nothing else of the answer). */
async function recordChecked(sql: Sql, workspace: Workspace, checked: CheckedBinding): Promise<Workspace> {
  if (checked.binding.status !== 'bound') return workspace;
  await recordBinding(sql, workspace.id, checked.binding);
  return { ...workspace, emailbisonWorkspaceId: checked.binding.id };
}

function bindingLine(checked: CheckedBinding): string {
  return checked.binding.status === 'bound'
    ? `its key reads ${describeBound(checked.binding)}`
    : `binding not checked: ${checked.binding.reason}`;
}

/** The name as registered: trimmed; refused (without echoing it) when empty, too long or with control characters. */
function validName(raw: string): string {
  const problem = workspaceNameProblem(raw);
  if (problem) throw new InvalidInputError(`The workspace name is refused: ${problem}; nothing stored.`);
  return raw.trim();
}

function wholeId(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidInputError(`--emailbison-id must be a whole number, got "${text}".`);
  return Number(text);
}

/** Where a key lives, without the key: `aws-sm:<arn>#<field>` → "AWS Secrets Manager (<arn>)". */
export function describeRef(ref: string): string {
  const { source, id } = parseSecretReference(ref);
  if (source === 'aws-sm') return `AWS Secrets Manager (${id.split(':').pop()})`;
  if (source === 'env') return `environment variable ${id}`;
  return 'local secrets file';
}

export async function readStdinKey(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim() || undefined;
}
