import type { Sql } from '../../lambdas/db/client';
import { closeSharedDispatchers } from '../../lambdas/emailbison/client';
import { listInstanceWorkspaces, mintWorkspaceKey, type InstanceWorkspace } from '../../lambdas/emailbison/workspaces-admin';
import { UsageError } from '../../lambdas/errors';
import { listWorkspaces } from '../../lambdas/workspaces/registry';
import { checkBindings, type CheckedBinding } from '../bindings';
import { withCliContext } from '../context';
import { storeApiKeys } from '../key-store';
import {
  bindingCell,
  describeRedacted,
  instanceOf,
  instanceUrl,
  registerBoundWorkspace,
  registeredRowFor,
  registrationName,
} from '../onboarding';
import { table } from '../table';
import { fail, printJson } from '../output';
import { describeRef, keyStore, readStdinKey, type StoreOptions } from './workspaces';
import { visibleLines } from '../terminal-text';

/*
 * `workspaces discover`: onboards a whole instance from a super-admin key. Lists what the key
 * sees; with --mint-keys mints one api-user key per workspace not yet registered, and for each,
 * before the next is minted: stores it, checks its binding (GET /api/users), registers the row
 * with its EmailBison id. A run that fails midway leaves every key it received stored (and, unless
 * the store itself failed, registered); a re-run skips what is registered and mints nothing for it.
 * The super-admin key is used in request headers only: never stored, printed or logged.
 */

/** The name minted keys carry in EmailBison's token list, so an operator can tell them apart. */
export const MINTED_TOKEN_NAME = 'sender-sync';

export type DiscoveryAction = 'would_register' | 'registered' | 'already_registered' | 'refused' | 'not_reached';

export interface DiscoveryEntry {
  emailbisonId: number;
  emailbisonName: string;
  /** The registry row's name: the one it has, or the one it gets. */
  name: string;
  action: DiscoveryAction;
  keyIn?: string;
  /** Whether this run minted a key for it. */
  minted?: boolean;
  checked?: CheckedBinding;
  note?: string;
}

export interface DiscoverOptions extends StoreOptions {
  baseUrl: string;
  adminKeyEnv?: string;
  mintKeys?: boolean;
  json?: boolean;
}

export async function discoverWorkspacesCommand(options: DiscoverOptions): Promise<void> {
  const baseUrl = instanceUrl(options.baseUrl);
  if (!baseUrl) return usage(`--base-url must be the instance's URL (https://send.example.com), got "${options.baseUrl}".`);
  const adminKey = (options.adminKeyEnv ? process.env[options.adminKeyEnv] : await readStdinKey())?.trim();
  if (!adminKey) {
    return usage(
      options.adminKeyEnv
        ? `the environment variable ${options.adminKeyEnv} is empty: it should hold the instance's super-admin key.`
        : 'no super-admin key: pipe it on standard input or pass --admin-key-env VAR (it is used for this run only, never stored).',
    );
  }
  try {
    await withCliContext(async (context) => {
      const instance = await listInstanceWorkspaces({ baseUrl, adminKey });
      const entries = plan(instance, await listWorkspaces(context.db.sql), baseUrl);
      let failure: string | undefined;
      if (options.mintKeys) {
        const store = keyStore(context, options);
        failure = await mintAndRegister(context.db.sql, entries, {
          baseUrl,
          adminKey,
          // A minted key stays stored whatever follows: it exists in EmailBison now.
          store: async (keys) => (await storeApiKeys(store, keys)).refs,
          secrets: [adminKey],
        });
      }
      report(entries, { baseUrl, dryRun: !options.mintKeys, json: options.json === true, failure });
      if (failure) process.exitCode = 1;
      else if (entries.some((e) => e.action === 'refused')) process.exitCode = 2;
    });
  } catch (error) {
    console.error(`sender-sync: ${describeRedacted(error, [adminKey])}`);
    process.exitCode = 1;
  } finally {
    await closeSharedDispatchers();
  }
}

/** What each workspace of the instance is: registered already (by EmailBison id and instance), or to register under which name. */
export function plan(
  instance: readonly InstanceWorkspace[],
  rows: Awaited<ReturnType<typeof listWorkspaces>>,
  baseUrl: string,
): DiscoveryEntry[] {
  const taken = new Set(rows.map((row) => row.name.toLowerCase()));
  return instance.map((workspace) => {
    const row = registeredRowFor(rows, baseUrl, workspace.id);
    if (row) {
      return {
        emailbisonId: workspace.id,
        emailbisonName: workspace.name,
        name: row.name,
        action: 'already_registered',
        keyIn: describeRef(row.apiKeyRef),
        note: row.active ? undefined : 'inactive',
      };
    }
    return {
      emailbisonId: workspace.id,
      emailbisonName: workspace.name,
      name: registrationName(workspace.name, workspace.id, taken),
      action: 'would_register',
    };
  });
}

/**
 * One workspace at a time: mint, store, check, register. Returns why it stopped, or undefined.
 * A key that reads another workspace than the one it was minted for is stored (it is a
 * secret the instance issued) but not registered: `refused`.
 */
async function mintAndRegister(sql: Sql, entries: DiscoveryEntry[], context: MintContext): Promise<string | undefined> {
  const pending = entries.filter((e) => e.action === 'would_register');
  for (const [index, entry] of pending.entries()) {
    let failure: string | undefined;
    try {
      failure = await sql.begin((tx) => onboardOne(tx as unknown as Sql, entry, context));
    } catch (error) {
      entry.note = entry.keyIn ? `key stored in ${entry.keyIn}, not registered` : undefined;
      failure = `registering "${entry.name}" failed: ${describeRedacted(error, context.secrets)}`;
    }
    if (failure) {
      markNotReached(pending.slice(index));
      return failure;
    }
  }
  return undefined;
}

interface MintContext {
  baseUrl: string;
  adminKey: string;
  store: (keys: Record<string, string>) => Promise<Record<string, string>>;
  /** The admin key and every key minted so far: redacted from any error text. */
  secrets: string[];
}

/**
 * Within one transaction holding a lock on (instance, EmailBison id), so two discover runs
 * never both mint for one workspace: looks again whether it is registered (or its name
 * taken) since the plan, then mints, stores, checks and registers.
 */
async function onboardOne(tx: Sql, entry: DiscoveryEntry, context: MintContext): Promise<string | undefined> {
  await tx`select pg_advisory_xact_lock(hashtext(${`workspaces-discover:${instanceOf(context.baseUrl)}:${entry.emailbisonId}`}))`;
  const rows = await listWorkspaces(tx);
  const now = registeredRowFor(rows, context.baseUrl, entry.emailbisonId);
  if (now) {
    Object.assign(entry, { action: 'already_registered', name: now.name, keyIn: describeRef(now.apiKeyRef), note: 'registered meanwhile' });
    return undefined;
  }
  if (rows.some((row) => row.name.toLowerCase() === entry.name.toLowerCase())) {
    Object.assign(entry, { action: 'not_reached', note: 'another row took this name meanwhile: run discover again' });
    return undefined;
  }
  let apiKey: string;
  try {
    apiKey = await mintWorkspaceKey(
      { baseUrl: context.baseUrl, adminKey: context.adminKey },
      { id: entry.emailbisonId, name: entry.emailbisonName },
      MINTED_TOKEN_NAME,
    );
  } catch (error) {
    return `minting a key for "${entry.emailbisonName}" failed: ${describeRedacted(error, context.secrets)}`;
  }
  entry.minted = true;
  context.secrets.push(apiKey);
  let ref: string;
  try {
    ref = (await context.store({ [entry.name]: apiKey }))[entry.name];
  } catch (error) {
    return (
      `a key was minted for "${entry.emailbisonName}" (EmailBison token "${MINTED_TOKEN_NAME}") but could not be stored: ` +
      `${describeRedacted(error, context.secrets)}; revoke that token in EmailBison, then run discover again`
    );
  }
  entry.keyIn = describeRef(ref);
  const [checked] = await checkBindings([{ name: entry.name, baseUrl: context.baseUrl, apiKey, statedId: entry.emailbisonId }]);
  entry.checked = checked;
  if (checked.binding.status === 'bound' && checked.binding.id !== entry.emailbisonId) {
    entry.action = 'refused';
    entry.note = `its new key reads EmailBison workspace ${checked.binding.id}, not ${entry.emailbisonId}: not registered`;
    return undefined;
  }
  await registerBoundWorkspace(
    tx,
    { name: entry.name, baseUrl: context.baseUrl, apiKeyRef: ref, emailbisonWorkspaceId: entry.emailbisonId },
    checked,
  );
  entry.action = 'registered';
  return undefined;
}

function markNotReached(entries: DiscoveryEntry[]): void {
  for (const entry of entries) entry.action = 'not_reached';
}

function report(entries: DiscoveryEntry[], run: { baseUrl: string; dryRun: boolean; json: boolean; failure?: string }): void {
  const count = (action: DiscoveryAction) => entries.filter((e) => e.action === action).length;
  if (run.json) {
    printJson({
      base_url: run.baseUrl,
      dry_run: run.dryRun,
      workspaces: entries.map((e) => ({
        emailbison_workspace_id: e.emailbisonId,
        emailbison_name: e.emailbisonName,
        name: e.name,
        action: e.action,
        key_minted: e.minted === true,
        key_in: e.keyIn ?? null,
        binding: e.checked?.binding ?? null,
        note: e.note ?? null,
      })),
      minted: entries.filter((e) => e.minted).length,
      error: run.failure ?? null,
    });
  } else {
    console.log(
      table(
        ['EmailBison id', 'EmailBison name', 'registry name', 'action', 'key in', 'binding', 'note'],
        entries.map((e) => [
          e.emailbisonId,
          e.emailbisonName,
          e.name,
          e.action.replaceAll('_', ' '),
          e.keyIn,
          bindingCell(e.checked),
          e.note,
        ]),
      ),
    );
    const seen = `${entries.length} workspace${entries.length === 1 ? '' : 's'} at ${run.baseUrl}`;
    if (run.dryRun) {
      console.log(
        `\n${seen}: ${count('already_registered')} already registered, ${count('would_register')} would be registered. ` +
          'Dry run: nothing minted or stored; run again with --mint-keys to mint one api-user key per new workspace.',
      );
    } else {
      console.log(
        `\n${seen}: ${count('registered')} registered now (one key minted and stored each), ` +
          `${count('already_registered')} already registered (nothing minted)` +
          `${count('refused') ? `, ${count('refused')} refused` : ''}${count('not_reached') ? `, ${count('not_reached')} not reached` : ''}.`,
      );
    }
  }
  if (run.failure) console.error(`sender-sync: stopped: ${visibleLines(run.failure)}`);
}

/** A usage error: one line, exit 64 (as every command). */
function usage(message: string): never {
  return fail(new UsageError(message));
}
