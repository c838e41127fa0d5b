/**
 * What a complete walk of a workspace came to: the evidence the removal rule weighs
 * before any account the walk did not see is marked removed.
 */
export interface WalkEvidence {
  /**
   * Each distinct meta.total the walk was told, in the order first seen: page mode's pages,
   * or in cursor mode the one `page=1` answer asked for at the end (none on a cursor-only instance).
   */
  totalsSeen: number[];
  /** Distinct accounts the walk saw. */
  seen: number;
  /** The workspace's accounts not marked removed, counted when the walk completes. */
  live: number;
  /** How the walk ended; default page. */
  mode?: 'page' | 'cursor';
  /** The walk started again in another mode after reading pages (a mode switch or the page cap). */
  mixed?: boolean;
  /** Items the walk read (invalid items with an id included): more than `seen` means an id came twice. */
  itemsRead?: number;
  /** Why cursor mode's `page=1` total could not be had, when asking for it failed. */
  totalUnavailable?: string;
}

/**
 * - `remove`: mark removed every live account the walk did not see;
 * - `confirm`: no total to check against (cursor-only): mark removed the unseen accounts an
 *   earlier complete walk already missed, and mark the others missed (two-walk rule);
 * - `hold`: remove nothing, and say why.
 */
export type RemovalDecision = { action: 'remove' } | { action: 'confirm' } | { action: 'hold'; reason: string };

/** Below this many live accounts the sudden-drop guard leaves the total check to itself. */
export const SUDDEN_DROP_MIN_LIVE = 20;

/**
 * The removal rule. Pages shift while they are read (accounts added or removed upstream
 * mid-walk, so one can be skipped), and a workspace whose accounts mostly vanish at once
 * is likelier an upstream fault than a real removal. A wrong "no" costs one run's
 * removals; a wrong "yes" marks live accounts removed. So:
 * 1. A walk that restarted in another mode after reading pages removes nothing: its two
 *    halves are not one consistent reading.
 * 2. Sudden drop: a walk that saw no account of a workspace with live ones, or fewer
 *    than half of the live accounts when there are at least SUDDEN_DROP_MIN_LIVE,
 *    removes nothing.
 * 3. With a total (page mode; cursor mode when the instance answers `page=1` in page
 *    mode): one total reported throughout and exactly that many distinct accounts seen.
 * 4. Without one (a cursor-only instance): a walk that read no id twice may confirm, i.e.
 *    remove only accounts that the previous complete walk missed too; a walk that read
 *    an id twice removes nothing.
 */
export function decideRemoval(walk: WalkEvidence): RemovalDecision {
  const { seen } = walk;
  if (walk.mixed) {
    return hold(
      'the walk restarted in another pagination mode after reading pages; what it wrote stays, but a walk that mixed modes is no evidence for removal',
    );
  }
  const drop = suddenDrop(walk);
  if (drop) return hold(drop);
  if (walk.mode === 'cursor' && walk.totalsSeen.length === 0) {
    if (walk.totalUnavailable) return hold(`the account total could not be read (${walk.totalUnavailable})`);
    const itemsRead = walk.itemsRead ?? seen;
    if (itemsRead > seen) return hold(`the cursor walk read ${itemsRead} items but only ${seen} distinct accounts (an id came twice)`);
    return { action: 'confirm' };
  }
  const problem = inconsistency(walk);
  return problem ? hold(problem) : { action: 'remove' };
}

/**
 * Why a walk with totals may not remove anything, or undefined when it may: one total
 * reported throughout, as many distinct accounts seen as that total, and no drop to zero
 * of a workspace that had accounts.
 */
export function inconsistency(walk: WalkEvidence): string | undefined {
  const { seen, live } = walk;
  const totals = [...new Set(walk.totalsSeen)];
  if (totals.length === 0) return 'no page was read';
  if (totals.length > 1) return `the account total changed while paging (${totals.join(' → ')})`;
  const total = totals[0];
  if (total === 0 && live > 0) return `EmailBison reported 0 accounts for a workspace with ${live} live accounts`;
  if (seen < total) return `saw ${seen} distinct accounts but EmailBison reported ${total}`;
  if (seen > total) return `saw ${seen} distinct accounts, more than the ${total} EmailBison reported`;
  return undefined;
}

function suddenDrop({ seen, live, totalsSeen }: WalkEvidence): string | undefined {
  // A reported total of 0 is named by inconsistency(), in its own words.
  if (totalsSeen.includes(0)) return undefined;
  if (seen === 0 && live > 0) return `EmailBison served no accounts for a workspace with ${live} live accounts`;
  if (live >= SUDDEN_DROP_MIN_LIVE && seen < live / 2) {
    return `saw ${seen} accounts of a workspace with ${live} live (fewer than half): a sudden drop is likelier an upstream fault`;
  }
  return undefined;
}

function hold(reason: string): RemovalDecision {
  return { action: 'hold', reason };
}
