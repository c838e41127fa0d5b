import { createEmailBisonClient } from '../../lambdas/emailbison/client';
import { checkKeyBinding, type KeyBinding } from '../../lambdas/emailbison/key-binding';
import { errorCode, redactSecrets } from '../../lambdas/errors';
import { findBindingConflicts, type BindingConflict } from '../../lambdas/workspaces/binding';
import { listWorkspaces, type Workspace } from '../../lambdas/workspaces/registry';
import { requireSimulator } from '../../local/simulator-workspaces';
import { withReadContext, type CliContext } from '../context';
import { fail, printJson } from '../output';
import { table } from '../table';
import { sortByName } from '../words';
import { visible } from '../terminal-text';

export interface KeyCheck {
  workspace: string;
  result: 'ok' | 'rejected' | 'bound-elsewhere' | 'refused' | 'rate-limited' | 'unreachable' | 'wrong-url' | 'no-key';
  accounts: number | null;
  detail: string;
  /** The EmailBison workspace the key reads (GET /api/users: its id and name, nothing else); null when the key could not be asked. */
  binding: KeyBinding | null;
  /** The EmailBison workspace id the row records, if any. */
  recordedId: number | null;
  /** Why this key's binding would mix workspaces up: bound to another workspace than the row records, or shared with another row. */
  bindingProblems: string[];
}

/**
 * Tries each active workspace's key (page 1, and GET /api/users for its binding) with the
 * sync's retry policy (EMAILBISON_MAX_ATTEMPTS, EMAILBISON_MAX_RETRY_WAIT_MS; Retry-After and
 * the body's retry_after honoured); never prints a key.
 */
export async function checkKeys(context: CliContext, options: { concurrency?: number } = {}): Promise<KeyCheck[]> {
  const workspaces = await listWorkspaces(context.db.sql, { activeOnly: true });
  await requireSimulator(workspaces);
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
  // The sync's retry policy: a key that is only rate limited now is not called unreachable.
  const retry = { maxAttempts: context.config.maxAttempts, maxRetryWaitMs: context.config.maxRetryWaitMs };
  const client = createEmailBisonClient({
    workspace: workspace.name,
    baseUrl: workspace.baseUrl,
    apiKey,
    ...retry,
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
    const rateLimited = code === 'SS_EMAILBISON_UNAVAILABLE' && (error as { lastStatus?: number }).lastStatus === 429;
    const result =
      code === 'SS_EMAILBISON_KEY_BOUND_ELSEWHERE'
        ? 'bound-elsewhere'
        : answered
          ? 'refused'
          : rateLimited
            ? 'rate-limited'
            : 'unreachable';
    check = { result, accounts: null, detail: message };
    // An instance that did not serve page 1 through every retry is not asked again.
    if (code === 'SS_EMAILBISON_UNAVAILABLE' || code === 'SS_EMAILBISON_UNREACHABLE') return { ...base, ...check };
  }
  // Asked even when page 1 was refused (a 403 bound elsewhere, a 200 success:false): the binding may say why.
  let binding: KeyBinding;
  try {
    binding = await checkKeyBinding({
      workspace: workspace.name,
      baseUrl: workspace.baseUrl,
      apiKey,
      ...retry,
      headersTimeoutMs: 15_000,
    });
  } catch (error) {
    binding = { status: 'unknown', reason: redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)) };
  }
  // Page 1 served but the binding still rate limited: the key may be fine, the check is not done.
  if (check.result === 'ok' && binding.status === 'unknown' && binding.rateLimited)
    check = { result: 'rate-limited', accounts: check.accounts, detail: '' };
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

/** Exit codes: 2 a key problem (any result but OK or RATE LIMITED, or a binding problem); 75 (EX_TEMPFAIL) only rate limited. */
export const CHECK_KEYS_EXIT = { ok: 0, keyProblem: 2, rateLimited: 75 } as const;

export function checkKeysExitCode(results: KeyCheck[]): number {
  if (results.some((r) => (r.result !== 'ok' && r.result !== 'rate-limited') || r.bindingProblems.length > 0))
    return CHECK_KEYS_EXIT.keyProblem;
  if (results.some((r) => r.result === 'rate-limited')) return CHECK_KEYS_EXIT.rateLimited;
  return CHECK_KEYS_EXIT.ok;
}

const LABEL: Record<KeyCheck['result'], string> = {
  ok: 'OK',
  rejected: 'REJECTED',
  'bound-elsewhere': 'BOUND ELSEWHERE',
  refused: 'REFUSED',
  'rate-limited': 'RATE LIMITED',
  unreachable: 'UNREACHABLE',
  'wrong-url': 'WRONG URL',
  'no-key': 'NO KEY',
};

/** Longer details are cut in the table, saying so, and printed whole under it. */
const DETAIL_CELL_MAX = 100;
const TRUNCATED = '…(truncated, whole below)';

export async function checkKeysCommand(options: { json?: boolean }): Promise<void> {
  await withReadContext(async (context) => {
    const results = sortByName(await checkKeys(context), (r) => r.workspace);
    if (options.json) printJson({ keys: results });
    else {
      // The problems' labels here; their sentences under the table. Details are already redacted (no key).
      const details = results.map((r) =>
        [
          ...r.bindingProblems.map((p) => p.slice(0, p.indexOf(':'))),
          r.binding?.status === 'unknown' ? `binding not checked: ${r.binding.reason}` : '',
          r.detail,
        ]
          .filter(Boolean)
          .join('; '),
      );
      const cell = (detail: string) => (detail.length > DETAIL_CELL_MAX ? `${detail.slice(0, DETAIL_CELL_MAX)}${TRUNCATED}` : detail);
      console.log(
        table(
          ['workspace', 'key', 'accounts', 'bound to (EmailBison id, name)', 'detail'],
          results.map((r, i) => [r.workspace, LABEL[r.result], r.accounts ?? '', describeBinding(r), cell(details[i])]),
        ),
      );
      const cut = results.flatMap((r, i) => (details[i].length > DETAIL_CELL_MAX ? [`  ${r.workspace}: ${details[i]}`] : []));
      if (cut.length > 0) console.log(`\ndetails in full:\n${cut.map(visible).join('\n')}`);
      // OK: EmailBison accepted the key and it reads its own row's workspace, and no other row's.
      const good = results.filter((r) => r.result === 'ok' && r.bindingProblems.length === 0).length;
      const mixed = results.filter((r) => r.bindingProblems.length > 0).length;
      const limited = results.filter((r) => r.result === 'rate-limited').length;
      console.log(`\n${good} of ${results.length} keys OK`);
      if (limited > 0) {
        console.log(
          `${limited} not checked: EmailBison still answered 429 (rate limited) after ${context.config.maxAttempts} attempts (EMAILBISON_MAX_ATTEMPTS); try again later.`,
        );
      }
      if (mixed > 0) {
        console.log(
          `${mixed} ${mixed === 1 ? 'key reads' : 'keys read'} a workspace another row holds or its row does not record: each row needs an api-user key minted for its own workspace.`,
        );
        for (const r of results) for (const problem of r.bindingProblems) console.log(visible(`  ${r.workspace}: ${problem}`));
      }
    }
    process.exitCode = checkKeysExitCode(results);
  }).catch(fail);
}
