import { checkKeyBinding, type KeyBinding } from '../lambdas/emailbison/key-binding';
import { errorCode, redactSecrets } from '../lambdas/errors';
import type { BoundWorkspace } from '../lambdas/workspaces/binding';

/*
 * Key binding for `workspaces add|import` and `check-keys`: which EmailBison workspace
 * each key reads (GET /api/users, through lambdas/emailbison/key-binding.ts, which reads
 * only data.workspace.id and name), and which bindings would mix workspaces up. A key
 * registered under the wrong row syncs another client's accounts into it, and a
 * consistent walk then removes the row's own: the CLI refuses to register that.
 */

/** A key about to be registered (or registered), with the EmailBison workspace id its row states, if any. */
export interface BindingCandidate {
  name: string;
  baseUrl: string;
  apiKey: string;
  /** --emailbison-id, the file's emailbison_workspace_id, or the id the row already records. */
  statedId?: number | null;
}

export interface CheckedBinding {
  name: string;
  baseUrl: string;
  statedId?: number | null;
  binding: KeyBinding;
}

/** The registry's rows as the conflict rules need them. */
export interface RegisteredBinding {
  name: string;
  baseUrl: string;
  recordedId: number | null;
  active: boolean;
}

/** Asks the instance which workspace each key reads, a few at a time. A rejected key or an unreachable instance is `unknown`, with why. */
export async function checkBindings(candidates: BindingCandidate[], options: { concurrency?: number } = {}): Promise<CheckedBinding[]> {
  const results: CheckedBinding[] = new Array(candidates.length);
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const index = next++;
      const { apiKey, ...candidate } = candidates[index];
      results[index] = { ...candidate, binding: await bindingOf(candidates[index]) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, candidates.length) }, worker));
  return results;
}

async function bindingOf(candidate: BindingCandidate): Promise<KeyBinding> {
  try {
    return await checkKeyBinding({
      workspace: candidate.name,
      baseUrl: candidate.baseUrl,
      apiKey: candidate.apiKey,
      maxAttempts: 2,
      connectTimeoutMs: 5_000,
      headersTimeoutMs: 10_000,
    });
  } catch (error) {
    if (errorCode(error) === 'SS_EMAILBISON_KEY_REJECTED') return { status: 'unknown', reason: 'EmailBison rejected the key (HTTP 401)' };
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { status: 'unknown', reason: redactSecrets(text, [candidate.apiKey]) };
  }
}

/**
 * What would mix workspaces up if these keys were registered, one sentence each; none
 * means the keys may go in. A key reading another workspace than its row states; a key
 * reading a workspace another active row of the instance already holds; two of these
 * keys reading one workspace. Rows being (re)registered here do not count as "another".
 */
export function bindingRefusals(registered: RegisteredBinding[], checked: CheckedBinding[]): string[] {
  const refusals: string[] = [];
  const incoming = new Set(checked.map((c) => c.name));
  const byName = new Map(registered.map((r) => [r.name, r]));
  const claimed = new Map<string, string>();
  for (const candidate of checked) {
    const { binding } = candidate;
    if (binding.status !== 'bound') continue;
    const bound = describeBound(binding);
    const stated = candidate.statedId ?? byName.get(candidate.name)?.recordedId ?? null;
    if (stated !== null && stated !== binding.id) {
      refusals.push(`"${candidate.name}": its key reads ${bound}, but the row says EmailBison workspace ${stated}`);
    }
    const holders = registered.filter(
      (r) => r.active && !incoming.has(r.name) && r.recordedId === binding.id && sameInstance(r.baseUrl, candidate.baseUrl),
    );
    for (const holder of holders) {
      refusals.push(`"${candidate.name}": its key reads ${bound}, which registered workspace "${holder.name}" already holds`);
    }
    const key = `${instanceOf(candidate.baseUrl)} ${binding.id}`;
    const first = claimed.get(key);
    if (first !== undefined) refusals.push(`"${first}" and "${candidate.name}": both keys read ${bound}`);
    else claimed.set(key, candidate.name);
  }
  return refusals;
}

export function describeBound(binding: BoundWorkspace): string {
  return `EmailBison workspace ${binding.id} "${binding.name}"`;
}

/** Rows store base URLs without trailing slashes; compare them the same way. */
function instanceOf(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').toLowerCase();
}

function sameInstance(a: string, b: string): boolean {
  return instanceOf(a) === instanceOf(b);
}
