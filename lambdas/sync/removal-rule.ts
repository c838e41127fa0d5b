/**
 * What a complete walk of a workspace came to: the evidence the removal rule weighs
 * before any account the walk did not see is marked removed.
 */
export interface WalkEvidence {
  /** Each distinct meta.total the pages reported, in the order first seen. */
  totalsSeen: number[];
  /** Distinct accounts the walk saw. */
  seen: number;
  /** The workspace's accounts not marked removed, counted when the walk completes. */
  live: number;
}

/**
 * Why this walk may not mark anything removed, or undefined when it may. Pages shift
 * while they are read (accounts added or removed upstream mid-walk, so one can be
 * skipped), and a workspace whose accounts all vanish at once is likelier an upstream
 * fault than a real removal. So removal needs a complete and consistent walk: one total
 * reported throughout, as many distinct accounts seen as that total, and no drop to
 * zero of a workspace that had accounts. A wrong "no" costs one run's removals; a wrong
 * "yes" marks live accounts removed.
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
