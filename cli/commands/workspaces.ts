import path from 'node:path';
import { InvalidInputError } from '../../lambdas/errors';
import { parseSecretReference } from '../../lambdas/secrets/resolve';
import { deactivateWorkspace, listWorkspaces, upsertWorkspace } from '../../lambdas/workspaces/registry';
import { withCliContext, type CliContext } from '../context';
import { readWorkspaceFile } from '../import-file';
import { storeApiKeys, type KeyStore } from '../key-store';
import { fail } from '../output';
import { table } from '../table';

export interface StoreOptions {
  store?: string;
  secretArn?: string;
}

function keyStore(context: CliContext, options: StoreOptions): KeyStore {
  const kind = options.store ?? 'file';
  if (kind === 'file') return { kind: 'file', file: context.secretsFile };
  if (kind === 'aws-sm') {
    const secretArn = options.secretArn ?? context.config.apiKeysSecretArn;
    if (!secretArn) throw new InvalidInputError('--store aws-sm needs --secret-arn (or API_KEYS_SECRET_ARN): the API-keys secret of the stack.');
    return { kind: 'aws-sm', secretArn };
  }
  throw new InvalidInputError(`--store must be file or aws-sm, not "${kind}".`);
}

export async function addWorkspaceCommand(
  name: string,
  options: StoreOptions & { baseUrl: string; apiKeyRef?: string; apiKeyEnv?: string; inactive?: boolean; emailbisonId?: string; json?: boolean },
): Promise<void> {
  await withCliContext(async (context) => {
    let apiKeyRef = options.apiKeyRef;
    if (apiKeyRef) parseSecretReference(apiKeyRef, `API key of workspace "${name}"`);
    else {
      const key = options.apiKeyEnv ? process.env[options.apiKeyEnv] : await readStdinKey();
      if (!key) throw new InvalidInputError(`No API key for "${name}": pass --api-key-ref, --api-key-env VAR, or pipe the key on standard input.`);
      apiKeyRef = (await storeApiKeys(keyStore(context, options), { [name]: key }))[name];
    }
    const workspace = await upsertWorkspace(context.db.sql, {
      name,
      baseUrl: options.baseUrl,
      apiKeyRef,
      emailbisonWorkspaceId: options.emailbisonId ? Number(options.emailbisonId) : undefined,
      active: !options.inactive,
    });
    if (options.json) console.log(JSON.stringify(workspace));
    else console.log(`workspace "${workspace.name}" saved (id ${workspace.id}, key in ${describeRef(workspace.apiKeyRef)})`);
  }).catch(fail);
}

export async function listWorkspacesCommand(options: { json?: boolean; all?: boolean }): Promise<void> {
  await withCliContext(async ({ db }) => {
    const workspaces = await listWorkspaces(db.sql, { activeOnly: !options.all });
    if (options.json) return console.log(JSON.stringify(workspaces.map((w) => ({ ...w, apiKeyRef: describeRef(w.apiKeyRef) })), null, 2));
    if (workspaces.length === 0) return console.log('No workspaces registered: `sender-sync workspaces add` or `import`; `npm start` uses the simulator meanwhile.');
    console.log(table(
      ['id', 'workspace', 'base URL', 'key in', 'active'],
      workspaces.map((w) => [w.id, w.name, w.baseUrl, describeRef(w.apiKeyRef), w.active ? 'yes' : 'no']),
    ));
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
    const refs = await storeApiKeys(keyStore(context, options), Object.fromEntries(rows.map((r) => [r.name, r.apiKey])));
    await context.db.sql.begin(async (tx) => {
      for (const row of rows) {
        await upsertWorkspace(tx as any, { name: row.name, baseUrl: row.baseUrl, apiKeyRef: refs[row.name], emailbisonWorkspaceId: row.emailbisonWorkspaceId });
      }
    });
    if (options.json) console.log(JSON.stringify({ imported: rows.map((r) => r.name) }));
    else console.log(`imported ${rows.length} workspace${rows.length === 1 ? '' : 's'}; keys stored in ${options.store === 'aws-sm' ? 'AWS Secrets Manager' : 'the local secrets file'}`);
  }).catch(fail);
}

/** Where a key lives, without the key: `aws-sm:<arn>#<field>` → "AWS Secrets Manager (<arn>)". */
export function describeRef(ref: string): string {
  const { source, id } = parseSecretReference(ref);
  if (source === 'aws-sm') return `AWS Secrets Manager (${id.split(':').pop()})`;
  if (source === 'env') return `environment variable ${id}`;
  return 'local secrets file';
}

async function readStdinKey(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim() || undefined;
}
