import { generateAccount, laravelTimestamp, touchAccount, workspaceDomains, type RawSenderEmail, type SimWorkspace } from './data';
import { hex, randomFor, shuffle, type Random } from './random';
import { buildWorkspaces, type ScenarioSpec } from './scenarios';

/** The upstream data: each workspace's accounts, sorted by id, and the changes tests make to it. */
export class SimStore {
  readonly #workspaces: SimWorkspace[];
  readonly #byName = new Map<string, SimWorkspace>();
  readonly #byKey = new Map<string, SimWorkspace>();
  readonly #random: Random;
  readonly #keyRandom: Random;
  readonly #seed: number;
  #nextId: number;

  constructor(spec: ScenarioSpec) {
    this.#seed = spec.seed;
    this.#random = randomFor(spec.seed, 'changes');
    this.#keyRandom = randomFor(spec.seed, 'minted-keys');
    this.#workspaces = buildWorkspaces(spec);
    for (const workspace of this.#workspaces) {
      this.#byName.set(workspace.name, workspace);
      this.#byKey.set(workspace.apiKey, workspace);
    }
    // A loop, not Math.max(...ids): spreading 200,000 ids (grid:1000:200) overflows the call stack.
    let maxId = 999;
    for (const workspace of this.#workspaces) for (const account of workspace.accounts) maxId = Math.max(maxId, account.id);
    this.#nextId = maxId + 1;
  }

  list(): readonly SimWorkspace[] {
    return this.#workspaces;
  }

  /** The workspace a key reads: the one it is bound to, which need not be the one it was issued for. */
  byKey(apiKey: string): SimWorkspace | undefined {
    return this.#byKey.get(apiKey);
  }

  /** A new api-user key bound to the workspace (as `POST /api/workspaces/v1.1/{id}/api-tokens` mints one). */
  mintKey(name: string): string {
    const workspace = this.get(name);
    const key = `sim_${workspace.id}_${hex(this.#keyRandom, 32)}`;
    this.#byKey.set(key, workspace);
    return key;
  }

  /** Binds an existing key to another workspace: from now on it reads that workspace. */
  bindKey(apiKey: string, name: string): void {
    if (!this.#byKey.has(apiKey)) throw new Error('the simulator knows no such key');
    this.#byKey.set(apiKey, this.get(name));
  }

  /** Revokes a key: it is answered 401 from now on. */
  revokeKey(apiKey: string): void {
    this.#byKey.delete(apiKey);
  }

  /** The account with this id in any workspace, and the workspace holding it. */
  findAccount(id: number): { workspace: SimWorkspace; account: RawSenderEmail } | undefined {
    for (const workspace of this.#workspaces) {
      const account = workspace.accounts.find((candidate) => candidate.id === id);
      if (account) return { workspace, account };
    }
    return undefined;
  }

  get(name: string): SimWorkspace {
    const workspace = this.#byName.get(name);
    if (!workspace) throw new Error(`the simulator has no workspace named "${name}"`);
    return workspace;
  }

  truth(name: string): RawSenderEmail[] {
    return structuredClone(this.get(name).accounts);
  }

  /** New accounts (fresh ids, so they sort last), created now, with no activity yet. */
  add(name: string, count: number): RawSenderEmail[] {
    const workspace = this.get(name);
    const domains = workspaceDomains(this.#seed, name);
    const used = new Set(workspace.accounts.map((account) => account.email));
    const now = Date.now();
    const added: RawSenderEmail[] = [];
    for (let i = 0; i < count; i++) {
      const account = generateAccount(this.#random, { id: this.#nextId++, domains, used, epochMs: now });
      added.push({ ...account, ...zeroActivity(account), created_at: laravelTimestamp(now), updated_at: laravelTimestamp(now) });
    }
    workspace.accounts.push(...added);
    return structuredClone(added);
  }

  /** Removes `count` accounts picked across the whole list (so later pages shift). */
  remove(name: string, count: number): RawSenderEmail[] {
    const workspace = this.get(name);
    const doomed = new Set(shuffle(this.#random, workspace.accounts).slice(0, count));
    workspace.accounts = workspace.accounts.filter((account) => !doomed.has(account));
    return structuredClone([...doomed].sort((a, b) => a.id - b.id));
  }

  /** Removes one account by id (as an operator deleting it), its last updated_at as given. */
  removeById(name: string, id: number, updatedAt: string): RawSenderEmail {
    const workspace = this.get(name);
    const account = workspace.accounts.find((candidate) => candidate.id === id);
    if (!account) throw new Error(`the simulator's workspace "${name}" has no account ${id}`);
    workspace.accounts = workspace.accounts.filter((candidate) => candidate !== account);
    return structuredClone({ ...account, updated_at: updatedAt });
  }

  /** Sets fields of one account as given (any JSON value: tests serve hostile strings this way). */
  patch(name: string, id: number, fields: Record<string, unknown>): RawSenderEmail {
    const workspace = this.get(name);
    const index = workspace.accounts.findIndex((account) => account.id === id);
    if (index === -1) throw new Error(`the simulator's workspace "${name}" has no account ${id}`);
    workspace.accounts[index] = { ...workspace.accounts[index], ...fields } as RawSenderEmail;
    return structuredClone(workspace.accounts[index]);
  }

  /** New activity on `count` accounts: counters grow, some statuses change, updated_at moves. */
  update(name: string, count: number): RawSenderEmail[] {
    const workspace = this.get(name);
    const chosen = new Set(
      shuffle(this.#random, workspace.accounts)
        .slice(0, count)
        .map((account) => account.id),
    );
    const now = Date.now();
    workspace.accounts = workspace.accounts.map((account) => (chosen.has(account.id) ? touchAccount(this.#random, account, now) : account));
    return structuredClone(workspace.accounts.filter((account) => chosen.has(account.id)));
  }
}

function zeroActivity(account: RawSenderEmail): Partial<RawSenderEmail> {
  return {
    emails_sent_count: 0,
    total_replied_count: 0,
    unique_replied_count: 0,
    total_opened_count: account.total_opened_count === null ? null : 0,
    unique_opened_count: account.unique_opened_count === null ? null : 0,
    bounced_count: 0,
    unsubscribed_count: 0,
    interested_leads_count: 0,
    total_leads_contacted_count: 0,
  };
}
