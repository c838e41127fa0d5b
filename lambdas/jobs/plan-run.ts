/*
 * Which workspaces a run syncs, and in what order (issue 22 item 6). Every workspace of an
 * EmailBison instance shares its request cap (EMAILBISON_MAX_RPS), and a full walk costs
 * about accounts/15 requests, so an instance with enough workspaces cannot be read within
 * the schedule's interval: runs would time out, or overlap and skip each other, and the
 * workspaces at the tail of a fixed order would never sync. So:
 * - the order is by the last successful sync, oldest first (never synced: first), ties by
 *   size, largest first (of three at a time, the last to finish is then a small one);
 * - each instance gets what fits in the run (its requests at its cap), in that order up to
 *   the first that does not fit, and at least its first workspace however large; the rest are deferred, and being
 *   the oldest they go first next run, so every workspace syncs within a few runs;
 * - instances are interleaved round-robin, so one instance's cap or outage never holds up
 *   another's workspaces behind it in the Map.
 * Pure: Start job reads the candidates and writes the plan.
 */

/** Accounts a page holds; `per_page` is ignored upstream (DESIGN.md). */
export const ACCOUNTS_PER_PAGE = 15;
/**
 * The share of the budget the requests may fill: the rest is for what is not a request at
 * the cap (Lambda starts, writes, a retry, a 429's wait, the finalizer).
 */
export const PLAN_HEADROOM = 0.9;
/** Names listed in a deferral warning; the rest are counted (the warnings array stays bounded). */
export const DEFERRED_NAMES_LISTED = 10;

export interface PlanCandidate {
  id: number;
  name: string;
  /** The instance: the base URL's host and port (instanceHost). */
  host: string;
  /** When the workspace last synced (its job's start); null: never. */
  lastSyncedAt: Date | null;
  /** Accounts at its last successful sync; null: never synced. */
  lastAccountsSynced: number | null;
  /** Accounts stored for it (live rows): the size of a workspace never synced by this system, e.g. after a cut-over. */
  storedAccounts: number;
}

export interface PlanLimits {
  /** Requests per second per instance; 0: no cap, nothing is deferred. */
  maxRps: number;
  /** What one run may take: the smaller of the schedule's interval and the run timeout. */
  budgetSeconds: number;
}

/** An instance whose workspaces do not all fit one run at its cap. */
export interface InstanceShortfall {
  host: string;
  /** Minutes a run needs to read every workspace of the instance at `maxRps`. */
  neededMinutes: number;
  maxRps: number;
  deferred: PlanCandidate[];
  /** What the deferred rows, the warning and the alarm say. */
  reason: string;
}

export interface RunPlan {
  /** The workspaces this run syncs, in the Map's order. */
  sync: PlanCandidate[];
  shortfalls: InstanceShortfall[];
}

/** Requests a full walk of a workspace of this size costs (at least one page). */
export function estimatedRequests(accounts: number): number {
  return Math.max(1, Math.ceil(accounts / ACCOUNTS_PER_PAGE));
}

/** Oldest sync first (never synced: first), then largest first, then by name. */
export function byLastSync(a: PlanCandidate, b: PlanCandidate): number {
  const at = (c: PlanCandidate) => c.lastSyncedAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  return at(a) - at(b) || (b.lastAccountsSynced ?? Infinity) - (a.lastAccountsSynced ?? Infinity) || compareText(a.name, b.name);
}

/**
 * One workspace of each instance in turn, each instance's in its own order; instances in the
 * order of their first workspace.
 */
export function interleaveByHost<T extends { host: string }>(ordered: T[]): T[] {
  const byHost = new Map<string, T[]>();
  for (const item of ordered) {
    const queue = byHost.get(item.host);
    if (queue) queue.push(item);
    else byHost.set(item.host, [item]);
  }
  const queues = [...byHost.values()];
  const result: T[] = [];
  for (let round = 0; result.length < ordered.length; round++) {
    for (const queue of queues) if (round < queue.length) result.push(queue[round]);
  }
  return result;
}

export function planRun(candidates: PlanCandidate[], limits: PlanLimits): RunPlan {
  const ordered = [...candidates].sort(byLastSync);
  if (!(limits.maxRps > 0)) return { sync: interleaveByHost(ordered), shortfalls: [] };
  const budgetRequests = limits.budgetSeconds * PLAN_HEADROOM * limits.maxRps;
  const sizes = sizeEstimates(ordered);
  const sync: PlanCandidate[] = [];
  const shortfalls: InstanceShortfall[] = [];
  for (const [host, workspaces] of groupByHost(ordered)) {
    let planned = 0;
    let needed = 0;
    const deferred: PlanCandidate[] = [];
    for (const workspace of workspaces) {
      const requests = estimatedRequests(sizes.get(workspace.id)!);
      needed += requests;
      // Strictly in order: once one does not fit, the rest wait too, so no smaller workspace
      // synced last run passes one deferred then (the run loses at most one workspace's time).
      if (deferred.length === 0 && (planned === 0 || planned + requests <= budgetRequests)) {
        planned += requests;
        sync.push(workspace);
      } else {
        deferred.push(workspace);
      }
    }
    if (deferred.length === 0) continue;
    const neededMinutes = Math.ceil(needed / limits.maxRps / 60);
    shortfalls.push({
      host,
      neededMinutes,
      maxRps: limits.maxRps,
      deferred,
      reason: `this instance (${host}) needs ${neededMinutes} min at ${limits.maxRps} req/s: raise EMAILBISON_MAX_RPS or the interval (a run has ${Math.floor(limits.budgetSeconds / 60)} min)`,
    });
  }
  const position = new Map(ordered.map((c, i) => [c.id, i]));
  return { sync: interleaveByHost(sync.sort((a, b) => position.get(a.id)! - position.get(b.id)!)), shortfalls };
}

/**
 * Each workspace's size: its last sync's accounts, else the accounts stored for it, else
 * the mean of its instance's known workspaces, else one page (nothing to go on: the first
 * run measures it).
 */
function sizeEstimates(candidates: PlanCandidate[]): Map<number, number> {
  const known = new Map<string, { sum: number; n: number }>();
  for (const c of candidates) {
    const size = c.lastAccountsSynced ?? (c.storedAccounts > 0 ? c.storedAccounts : undefined);
    if (size === undefined) continue;
    const entry = known.get(c.host) ?? { sum: 0, n: 0 };
    entry.sum += size;
    entry.n += 1;
    known.set(c.host, entry);
  }
  return new Map(
    candidates.map((c) => {
      const mean = known.get(c.host);
      const size = c.lastAccountsSynced ?? (c.storedAccounts > 0 ? c.storedAccounts : mean ? mean.sum / mean.n : ACCOUNTS_PER_PAGE);
      return [c.id, size];
    }),
  );
}

function groupByHost(ordered: PlanCandidate[]): Map<string, PlanCandidate[]> {
  const groups = new Map<string, PlanCandidate[]>();
  for (const c of ordered) {
    const group = groups.get(c.host);
    if (group) group.push(c);
    else groups.set(c.host, [c]);
  }
  return groups;
}

/**
 * Seconds between two runs of an EventBridge schedule: `rate(N unit)`, or a cron whose
 * minutes and hours fields are simple (a value, `*`, a step such as `0/15`, a list); undefined when it
 * cannot be told (the run timeout alone then bounds a run).
 */
export function scheduleIntervalSeconds(expression: string): number | undefined {
  const rate = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/i.exec(expression.trim());
  if (rate) {
    const unit = rate[2].toLowerCase().replace(/s$/, '');
    return Number(rate[1]) * (unit === 'minute' ? 60 : unit === 'hour' ? 3600 : 86_400);
  }
  const cron = /^cron\((.+)\)$/i.exec(expression.trim());
  if (!cron) return undefined;
  const [minutes, hours] = cron[1].trim().split(/\s+/);
  const minuteGap = fieldGap(minutes, 60);
  const hourGap = fieldGap(hours, 24);
  if (minuteGap === undefined || hourGap === undefined) return undefined;
  // Several minutes an hour: their gap (when every hour runs); one minute an hour: the hours' gap.
  if (minuteGap < 60) return hourGap === 1 ? minuteGap * 60 : undefined;
  return hourGap * 3600;
}

/** The smallest gap between the field's values within its cycle (60 when it has one value). */
function fieldGap(field: string | undefined, cycle: number): number | undefined {
  if (!field) return undefined;
  if (field === '*') return 1;
  const step = /^(\d+|\*)\/(\d+)$/.exec(field);
  if (step) return Math.min(Number(step[2]), cycle);
  if (!/^\d+(,\d+)*$/.test(field)) return undefined;
  const values = [...new Set(field.split(',').map(Number))].sort((a, b) => a - b);
  if (values.length === 1) return cycle;
  const gaps = values.map((v, i) => (i + 1 < values.length ? values[i + 1] - v : values[0] + cycle - v));
  return Math.min(...gaps);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
