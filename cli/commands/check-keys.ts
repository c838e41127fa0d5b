import { createEmailBisonClient } from '../../lambdas/emailbison/client';
import { errorCode } from '../../lambdas/errors';
import { listWorkspaces, type Workspace } from '../../lambdas/workspaces/registry';
import { withCliContext, type CliContext } from '../context';
import { fail } from '../output';
import { table } from '../table';

export interface KeyCheck {
  workspace: string;
  result: 'ok' | 'rejected' | 'unreachable' | 'wrong-url' | 'no-key';
  accounts: number | null;
  detail: string;
}

/** Tries each active workspace's key once (one request, page 1); never prints a key. */
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
  return results;
}

async function checkOne(context: CliContext, workspace: Workspace): Promise<KeyCheck> {
  let apiKey: string;
  try {
    apiKey = await context.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
  } catch (error) {
    return { workspace: workspace.name, result: 'no-key', accounts: null, detail: (error as Error).message };
  }
  const client = createEmailBisonClient({ workspace: workspace.name, baseUrl: workspace.baseUrl, apiKey, maxAttempts: 2, maxRetryWaitMs: 5_000, headersTimeoutMs: 15_000 });
  try {
    const { total } = await client.checkKey();
    return { workspace: workspace.name, result: 'ok', accounts: total, detail: '' };
  } catch (error) {
    const code = errorCode(error);
    const message = (error as Error).message.split(apiKey).join('[redacted]');
    if (code === 'SS_EMAILBISON_KEY_REJECTED') return { workspace: workspace.name, result: 'rejected', accounts: null, detail: message };
    if (code === 'SS_EMAILBISON_NOT_FOUND') return { workspace: workspace.name, result: 'wrong-url', accounts: null, detail: message };
    return { workspace: workspace.name, result: 'unreachable', accounts: null, detail: message };
  }
}

export async function checkKeysCommand(options: { json?: boolean }): Promise<void> {
  await withCliContext(async (context) => {
    const results = await checkKeys(context);
    if (options.json) console.log(JSON.stringify(results, null, 2));
    else {
      const label = { ok: 'OK', rejected: 'REJECTED', unreachable: 'UNREACHABLE', 'wrong-url': 'WRONG URL', 'no-key': 'NO KEY' };
      console.log(table(['workspace', 'key', 'accounts', 'detail'], results.map((r) => [r.workspace, label[r.result], r.accounts ?? '', r.detail.slice(0, 100)])));
      const bad = results.filter((r) => r.result !== 'ok').length;
      console.log(`\n${results.length - bad} of ${results.length} keys OK`);
    }
    if (results.some((r) => r.result !== 'ok')) process.exitCode = 2;
  }).catch(fail);
}
