import path from 'node:path';
import { InvalidInputError } from '../../lambdas/errors';
import type { Sql } from '../../lambdas/db/client';
import { parseSecretReference } from '../../lambdas/secrets/resolve';
import { recordBinding } from '../../lambdas/workspaces/binding';
import { deactivateWorkspace, listWorkspaces, upsertWorkspace, type Workspace } from '../../lambdas/workspaces/registry';
import { bindingRefusals, checkBindings, describeBound, type BindingCandidate, type CheckedBinding } from '../bindings';
import { withCliContext, type CliContext } from '../context';
import { readWorkspaceFile } from '../import-file';
import { storeApiKeys, type KeyStore } from '../key-store';
import { fail } from '../output';
import { table } from '../table';

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
    return { kind: 'aws-sm', secretArn };
  }
  throw new InvalidInputError(`--store must be file or aws-sm, not "${kind}".`);
}

export async function addWorkspaceCommand(
  name: string,
  options: StoreOptions & {
    baseUrl: string;
    apiKeyRef?: string;
    apiKeyEnv?: string;
    inactive?: boolean;
    emailbisonId?: string;
    json?: boolean;
  },
): Promise<void> {
  await withCliContext(async (context) => {
    const emailbisonId = options.emailbisonId === undefined ? undefined : wholeId(options.emailbisonId);
    let apiKeyRef = options.apiKeyRef;
    let apiKey: string | undefined;
    if (apiKeyRef) {
      parseSecretReference(apiKeyRef, `API key of workspace "${name}"`);
      apiKey = await context.secrets.resolve(apiKeyRef, `API key of workspace "${name}"`).catch(() => undefined);
    } else {
      apiKey = options.apiKeyEnv ? process.env[options.apiKeyEnv] : await readStdinKey();
      if (!apiKey)
        throw new InvalidInputError(`No API key for "${name}": pass --api-key-ref, --api-key-env VAR, or pipe the key on standard input.`);
    }
    const [checked] = apiKey
      ? await checkBindings([{ name, baseUrl: options.baseUrl, apiKey, statedId: emailbisonId }])
      : [
          {
            name,
            baseUrl: options.baseUrl,
            statedId: emailbisonId,
            binding: { status: 'unknown', reason: `could not read the key from ${describeRef(apiKeyRef!)}` },
          } satisfies CheckedBinding,
        ];
    if (refuseMixedBindings(await registeredBindings(context.db.sql), [checked])) return;
    if (!apiKeyRef) apiKeyRef = (await storeApiKeys(keyStore(context, options), { [name]: apiKey! }))[name];
    const workspace = await context.db.sql.begin(async (tx) => {
      const row = await upsertWorkspace(tx as unknown as Sql, {
        name,
        baseUrl: options.baseUrl,
        apiKeyRef,
        emailbisonWorkspaceId: emailbisonId,
        active: !options.inactive,
      });
      return recordChecked(tx as unknown as Sql, row, checked);
    });
    if (options.json) console.log(JSON.stringify({ ...workspace, binding: checked.binding }));
    else
      console.log(
        `workspace "${workspace.name}" saved (id ${workspace.id}, key in ${describeRef(workspace.apiKeyRef)}); ${bindingLine(checked)}`,
      );
  }).catch(fail);
}

export async function listWorkspacesCommand(options: { json?: boolean; all?: boolean }): Promise<void> {
  await withCliContext(async ({ db }) => {
    const workspaces = await listWorkspaces(db.sql, { activeOnly: !options.all });
    if (options.json)
      return console.log(
        JSON.stringify(
          workspaces.map((w) => ({ ...w, apiKeyRef: describeRef(w.apiKeyRef) })),
          null,
          2,
        ),
      );
    if (workspaces.length === 0)
      return console.log('No workspaces registered: `sender-sync workspaces add` or `import`; `npm start` uses the simulator meanwhile.');
    console.log(
      table(
        ['id', 'workspace', 'base URL', 'key in', 'active'],
        workspaces.map((w) => [w.id, w.name, w.baseUrl, describeRef(w.apiKeyRef), w.active ? 'yes' : 'no']),
      ),
    );
  }).catch(fail);
}

export async function removeWorkspaceCommand(name: string): Promise<void> {
  await withCliContext(async ({ db }) => {
    await deactivateWorkspace(db.sql, name);
    console.log(`workspace "${name}" deactivated: it is no longer synced; its accounts and history stay.`);
  }).catch(fail);
}

export async function importWorkspacesCommand(file: string, options: StoreOptions & { json?: boolean }): Promise<void> {
  await withCliContext(async (context) => {
    const rows = await readWorkspaceFile(path.resolve(file));
    const candidates: BindingCandidate[] = rows.map((r) => ({
      name: r.name,
      baseUrl: r.baseUrl,
      apiKey: r.apiKey,
      statedId: r.emailbisonWorkspaceId,
    }));
    const checked = await checkBindings(candidates);
    if (refuseMixedBindings(await registeredBindings(context.db.sql), checked)) return;
    const refs = await storeApiKeys(keyStore(context, options), Object.fromEntries(rows.map((r) => [r.name, r.apiKey])));
    await context.db.sql.begin(async (tx) => {
      for (const [index, row] of rows.entries()) {
        const saved = await upsertWorkspace(tx as unknown as Sql, {
          name: row.name,
          baseUrl: row.baseUrl,
          apiKeyRef: refs[row.name],
          emailbisonWorkspaceId: row.emailbisonWorkspaceId,
        });
        await recordChecked(tx as unknown as Sql, saved, checked[index]);
      }
    });
    if (options.json)
      console.log(
        JSON.stringify({ imported: rows.map((r) => r.name), bindings: checked.map((c) => ({ workspace: c.name, binding: c.binding })) }),
      );
    else {
      console.log(
        `imported ${rows.length} workspace${rows.length === 1 ? '' : 's'}; keys stored in ${options.store === 'aws-sm' ? 'AWS Secrets Manager' : 'the local secrets file'}`,
      );
      for (const c of checked) console.log(`  ${c.name}: ${bindingLine(c)}`);
    }
  }).catch(fail);
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
  for (const refusal of refusals) console.error(`  ${refusal}`);
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
