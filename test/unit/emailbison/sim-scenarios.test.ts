import { describe, expect, it } from 'vitest';
import { buildWorkspaces, scenarioSpec } from '../../../sim/scenarios';

const built = new Map<string, ReturnType<typeof buildWorkspaces>>();
const summary = (name: string) => {
  if (!built.has(name)) built.set(name, buildWorkspaces(scenarioSpec(name)));
  const workspaces = built.get(name)!;
  const sizes = workspaces.map((workspace) => workspace.accounts.length);
  return { workspaces, sizes, total: sizes.reduce((sum, size) => sum + size, 0) };
};

describe('simulator scenarios', () => {
  it('seed-2025: 26 workspaces, 4,228 accounts, the largest 433, exactly two empty', () => {
    const { workspaces, sizes, total } = summary('seed-2025');

    expect(workspaces).toHaveLength(26);
    expect(total).toBe(4_228);
    expect(Math.max(...sizes)).toBe(433);
    expect(sizes.filter((size) => size === 0)).toHaveLength(2);
  });

  it('seed-2026: 28 workspaces, 12,000+ accounts, the largest 1,626', () => {
    const { workspaces, sizes, total } = summary('seed-2026');

    expect(workspaces).toHaveLength(28);
    expect(total).toBeGreaterThan(12_000);
    expect(Math.max(...sizes)).toBe(1_626);
  });

  it('grid:N:M: N uniquely named workspaces of M accounts', () => {
    const { workspaces, sizes } = summary('grid:250:3');

    expect(workspaces).toHaveLength(250);
    expect(new Set(workspaces.map((workspace) => workspace.name)).size).toBe(250);
    expect(new Set(sizes)).toEqual(new Set([3]));
  });

  it('rejects a scenario it does not know, listing those it does', () => {
    expect(() => scenarioSpec('seed-1999')).toThrow('unknown scenario "seed-1999"; known: seed-2025, seed-2026, grid:N:M');
  });

  it('generates the same workspaces, keys and accounts from the same seed, and others from another', () => {
    const once = summary('seed-2025').workspaces;

    expect(buildWorkspaces(scenarioSpec('seed-2025'))).toEqual(once);
    expect(buildWorkspaces(scenarioSpec('seed-2025', 99))[0].accounts).not.toEqual(once[0].accounts);
  });

  it('gives each workspace its own key, and every account an id unique across the instance', () => {
    const { workspaces } = summary('seed-2026');
    const ids = workspaces.flatMap((workspace) => workspace.accounts.map((account) => account.id));

    expect(new Set(workspaces.map((workspace) => workspace.apiKey)).size).toBe(28);
    expect(workspaces.every((workspace) => /^sim_[a-z0-9-]+_[0-9a-f]{24}$/.test(workspace.apiKey))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const workspace of workspaces) {
      const own = workspace.accounts.map((account) => account.id);
      expect(own).toEqual([...own].sort((a, b) => a - b));
    }
  });

  it('numbers accounts from firstAccountId, so two instances of other clients share workspace and account ids', () => {
    const instance = (names: string[]) =>
      buildWorkspaces({ ...scenarioSpec('grid:2:10'), firstAccountId: 5000, workspaces: names.map((name) => ({ name, accounts: 10 })) });
    const [one, other] = [instance(['Acme', 'Birch']), instance(['Cedar', 'Dunmore'])];
    const ids = (workspaces: typeof one) => workspaces.map((w) => [w.id, w.accounts.map((a) => a.id)]);
    expect(ids(one)).toEqual([
      [1, Array.from({ length: 10 }, (_, i) => 5000 + i)],
      [2, Array.from({ length: 10 }, (_, i) => 5010 + i)],
    ]);
    expect(ids(other)).toEqual(ids(one));
    expect(other[0].accounts.map((a) => a.email)).not.toEqual(one[0].accounts.map((a) => a.email));
    expect(other[0].apiKey).not.toBe(one[0].apiKey);
  });

  it('looks like real data: non-ASCII names, several statuses and providers, resellers, and nulls', () => {
    const { workspaces } = summary('seed-2025');
    const accounts = workspaces.flatMap((workspace) => workspace.accounts);
    const tagNames = new Set(accounts.flatMap((account) => account.tags.map((tag) => tag.name)));

    expect(workspaces.filter((workspace) => /[^\p{ASCII}]/u.test(workspace.name)).length).toBeGreaterThanOrEqual(3);
    expect(accounts.some((account) => /[^\p{ASCII}]/u.test(account.name ?? ''))).toBe(true);
    expect(new Set(accounts.map((account) => account.status))).toEqual(new Set(['Connected', 'Not connected', 'Disconnected', 'Paused']));
    for (const name of ['Google', 'Outlook', 'Mailreef', 'Zapmail']) expect(tagNames.has(name)).toBe(true);
    for (const field of ['name', 'email_signature', 'daily_limit', 'total_opened_count', 'warmup_enabled'] as const) {
      expect(
        accounts.some((account) => account[field] === null),
        field,
      ).toBe(true);
    }
    expect(accounts.every((account) => /^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+$/.test(account.email))).toBe(true);
    expect(accounts.every((account) => account.unique_replied_count <= account.total_replied_count)).toBe(true);
  });
});
