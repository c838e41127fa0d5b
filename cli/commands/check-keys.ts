import { createEmailBisonClient } from '../../lambdas/emailbison/client';
import { checkKeyBinding, type KeyBinding } from '../../lambdas/emailbison/key-binding';
import { errorCode, redactSecrets } from '../../lambdas/errors';
import { findBindingConflicts, type BindingConflict } from '../../lambdas/workspaces/binding';
import { listWorkspaces, type Workspace } from '../../lambdas/workspaces/registry';
import { withReadContext, type CliContext } from '../context';
import { fail, printJson } from '../output';
import { table } from '../table';
import { sortByName } from '../words';

export interface KeyCheck {
  workspace: string;
  result: 'ok' | 'rejected' | 'bound-elsewhere' | 'refused' | 'unreachable' | 'wrong-url' | 'no-key';
  accounts: number | null;
  detail: string;
  /** The EmailBison workspace the key reads (GET /api/users: its id and name, nothing else); null when the key could not be asked. */
  binding: KeyBinding | null;
  /** The EmailBison workspace id the row records, if any. */
  recordedId: number | null;
  /** Why this key's binding would mix workspaces up: bound to another workspace than the row records, or shared with another row. */
  bindingProblems: string[];
}

/** Tries each active workspace's key once (page 1, and GET /api/users for its binding); never prints a key. */
export async function checkKeys(context: CliContext, options: { concurrency?: number } = {}): Promise<KeyCheck[]> {
  const workspaces = await listWorkspaces(context.db.sql, { activeOnly: true });
  const results: KeyCheck[] = new Array(workspaces.length);
  let next = 0;
  const worker = async () => {
    while (next < workspaces.length) {
      const index = next++;
      results[index] = await checkOne(context, workspaces[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, workspaces.length) }, worker));
  const checked = workspaces.flatMap((w, i) => (results[i].binding ? [{ workspaceId: w.id, binding: results[i].binding }] : []));
  const conflicts = await findBindingConflicts(context.db.sql, checked);
  for (const check of results) check.bindingProblems = conflicts.flatMap((c) => problemOf(c, check.workspace));
  return results;
}

async function checkOne(context: CliContext, workspace: Workspace): Promise<KeyCheck> {
  const base = { workspace: workspace.name, binding: null, recordedId: workspace.emailbisonWorkspaceId, bindingProblems: [] };
  let apiKey: string;
  try {
    apiKey = await context.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
  } catch (error) {
    return { ...base, result: 'no-key', accounts: null, detail: (error as Error).message };
  }
  const redact = (text: string) => redactSecrets(text, [apiKey]);
  const client = createEmailBisonClient({
    workspace: workspace.name,
    baseUrl: workspace.baseUrl,
    apiKey,
    maxAttempts: 2,
    maxRetryWaitMs: 5_000,
    headersTimeoutMs: 15_000,
  });
  let check: Pick<KeyCheck, 'result' | 'accounts' | 'detail'>;
  try {
    const { total } = await client.checkKey();
    check = { result: 'ok', accounts: total, detail: '' };
  } catch (error) {
    const code = errorCode(error);
    const message = redact((error as Error).message);
    if (code === 'SS_EMAILBISON_KEY_REJECTED') return { ...base, result: 'rejected', accounts: null, detail: message };
    if (code === 'SS_EMAILBISON_NOT_FOUND') return { ...base, result: 'wrong-url', accounts: null, detail: message };
    // A 403 "does not match the workspace", a 200 success:false, a page that stays malformed: EmailBison answered.
    const answered = code !== undefined && code !== 'SS_EMAILBISON_UNAVAILABLE' && code !== 'SS_EMAILBISON_UNREACHABLE';
    const result = code === 'SS_EMAILBISON_KEY_BOUND_ELSEWHERE' ? 'bound-elsewhere' : answered ? 'refused' : 'unreachable';
    check = { result, accounts: null, detail: message };
    // An instance that did not answer page 1 in two attempts is not asked again.
    if (code === 'SS_EMAILBISON_UNAVAILABLE' || code === 'SS_EMAILBISON_UNREACHABLE') return { ...base, ...check };
  }
  // Asked even when page 1 was refused (a 403 bound elsewhere, a 200 success:false): the binding may say why.
  let binding: KeyBinding;
  try {
    binding = await checkKeyBinding({
      workspace: workspace.name,
      baseUrl: workspace.baseUrl,
      apiKey,
      maxAttempts: 2,
      headersTimeoutMs: 15_000,
    });
  } catch (error) {
    binding = { status: 'unknown', reason: redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)) };
  }
  return { ...base, ...check, binding };
}

function problemOf(conflict: BindingConflict, workspace: string): string[] {
  if (conflict.kind === 'mismatch') {
    if (conflict.workspace !== workspace) return [];
    return [
      `BOUND ELSEWHERE: the key reads EmailBison workspace ${conflict.bound.id} "${conflict.bound.name}", the row records ${conflict.recordedId}`,
    ];
  }
  if (!conflict.workspaces.includes(workspace)) return [];
  const others = conflict.workspaces.filter((name) => name !== workspace).map((name) => `"${name}"`);
  return [
    `MIXED WORKSPACES: ${others.join(', ')} also ${others.length === 1 ? 'holds a key' : 'hold keys'} reading EmailBison workspace ${conflict.emailbisonWorkspaceId}`,
  ];
}

function describeBinding(check: KeyCheck): string {
  const { binding } = check;
  if (!binding) return '';
  if (binding.status === 'unknown') return 'not checked';
  return `${binding.id} ${binding.name}`;
}

export async function checkKeysCommand(options: { json?: boolean }): Promise<void> {
  await withReadContext(async (context) => {
    const results = sortByName(await checkKeys(context), (r) => r.workspace);
    if (options.json) printJson({ keys: results });
    else {
      const label = {
        ok: 'OK',
        rejected: 'REJECTED',
        'bound-elsewhere': 'BOUND ELSEWHERE',
        refused: 'REFUSED',
        unreachable: 'UNREACHABLE',
        'wrong-url': 'WRONG URL',
        'no-key': 'NO KEY',
      };
      console.log(
        table(
          ['workspace', 'key', 'accounts', 'bound to (EmailBison id, name)', 'detail'],
          results.map((r) => [
            r.workspace,
            label[r.result],
            r.accounts ?? '',
            describeBinding(r),
            // The problems' labels here; their sentences under the table.
            [
              ...r.bindingProblems.map((p) => p.slice(0, p.indexOf(':'))),
              r.binding?.status === 'unknown' ? `binding not checked: ${r.binding.reason}` : '',
              r.detail,
            ]
              .filter(Boolean)
              .join('; ')
              .slice(0, 160),
          ]),
        ),
      );
      // OK: EmailBison accepted the key and it reads its own row's workspace, and no other row's.
      const good = results.filter((r) => r.result === 'ok' && r.bindingProblems.length === 0).length;
      const mixed = results.filter((r) => r.bindingProblems.length > 0).length;
      console.log(`\n${good} of ${results.length} keys OK`);
      if (mixed > 0) {
        console.log(
          `${mixed} ${mixed === 1 ? 'key reads' : 'keys read'} a workspace another row holds or its row does not record: each row needs an api-user key minted for its own workspace.`,
        );
        for (const r of results) for (const problem of r.bindingProblems) console.log(`  ${r.workspace}: ${problem}`);
      }
    }
    if (results.some((r) => r.result !== 'ok' || r.bindingProblems.length > 0)) process.exitCode = 2;
  }).catch(fail);
}
