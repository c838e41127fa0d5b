import { apiKeyFor, generateAccounts, type SimWorkspace } from './data';
import { intBetween, randomFor } from './random';

/** What a simulated EmailBison instance holds: its workspaces and how many accounts each has. */
export interface ScenarioSpec {
  name: string;
  seed: number;
  /** "Now" for the generated data: created_at/updated_at fall before it. */
  epoch: string;
  workspaces: { name: string; accounts: number }[];
  /**
   * Number the accounts consecutively from this id, workspace after workspace (default: ids
   * from the seed, with gaps). Two instances given the same one hold the same account ids, as
   * two real EmailBison instances can; their workspace ids (1, 2, …) are the same already.
   */
  firstAccountId?: number;
}

/**
 * The agency as it was in 2025: 26 clients, 4,228 accounts, the largest (433) late in the
 * alphabet (where the old sync stopped), two clients still onboarding with no accounts, and
 * workspaces of exactly one page (15) and of one account.
 */
const SEED_2025: [string, number][] = [
  ['Acme Outbound', 187],
  ['Brightwave Capital', 246],
  ['Cedar & Pine Realty', 92],
  ['Clearpath Logistics', 158],
  ['Dunmore Legal', 64],
  ['Evergreen Solar', 301],
  ['Fjordline Analytics', 119],
  ['Glasshouse Media', 143],
  ['Harbor Point Insurance', 210],
  ['Ironclad Security', 77],
  ['Juniper Health', 265],
  ['Kestrel Ventures', 38],
  ['Lumen Dental Group', 171],
  ['Maple & Main Marketing', 129],
  ['Northbeam Recruiting', 354],
  ['Orchard Fintech', 222],
  ['Pioneer Freight', 96],
  ['Quantum Leap Coaching', 0],
  ['Riverside Property Co', 148],
  ['São Paulo Growth Partners', 15],
  ['Summit Peak SaaS', 389],
  ['Tidewater Consulting', 433],
  ['Umbra Cybersecurity', 0],
  ['Vértice Labs', 1],
  ['Wolfram & Söhne', 203],
  ['Zürich Data Partners', 167],
];

/** A year on: 28 clients, 12,967 accounts, the largest 1,626. */
const SEED_2026: [string, number][] = [
  ['Acme Outbound', 512],
  ['Alpine Ridge Roofing', 233],
  ['Bluebird Benefits', 97],
  ['Brightwave Capital', 690],
  ['Cedar & Pine Realty', 241],
  ['Clearpath Logistics', 455],
  ['Dunmore Legal', 170],
  ['Evergreen Solar', 884],
  ['Fjordline Analytics', 318],
  ['Glasshouse Media', 402],
  ['Harbor Point Insurance', 611],
  ['Ironclad Security', 205],
  ['Juniper Health', 776],
  ['Kestrel Ventures', 99],
  ['Lumen Dental Group', 498],
  ['Maple & Main Marketing', 361],
  ['Northbeam Recruiting', 1_040],
  ['Orchard Fintech', 655],
  ['Pioneer Freight', 264],
  ['Quantum Leap Coaching', 143],
  ['Riverside Property Co', 420],
  ['São Paulo Growth Partners', 45],
  ['Summit Peak SaaS', 1_130],
  ['Tidewater Consulting', 1_626],
  ['Umbra Cybersecurity', 0],
  ['Vértice Labs', 16],
  ['Wolfram & Söhne', 589],
  ['Zürich Data Partners', 487],
];

export const SCENARIO_NAMES = ['seed-2025', 'seed-2026', 'grid:N:M'] as const;

export function scenarioSpec(name: string, seed?: number): ScenarioSpec {
  const table = (rows: [string, number][]) => rows.map(([workspace, accounts]) => ({ name: workspace, accounts }));
  if (name === 'seed-2025') return { name, seed: seed ?? 2025, epoch: '2025-10-01T09:00:00Z', workspaces: table(SEED_2025) };
  if (name === 'seed-2026') return { name, seed: seed ?? 2026, epoch: '2026-03-01T09:00:00Z', workspaces: table(SEED_2026) };
  const grid = /^grid:(\d+):(\d+)$/.exec(name);
  if (grid) {
    const [workspaces, accounts] = [Number(grid[1]), Number(grid[2])];
    if (workspaces < 1 || workspaces > 10_000) throw new Error(`scenario ${name}: N must be 1..10000 workspaces`);
    const names = gridNames(workspaces);
    return { name, seed: seed ?? 7, epoch: '2025-10-01T09:00:00Z', workspaces: names.map((workspace) => ({ name: workspace, accounts })) };
  }
  throw new Error(`unknown scenario "${name}"; known: ${SCENARIO_NAMES.join(', ')}`);
}

/** The scenario's workspaces with their keys and accounts: deterministic from the spec alone. */
export function buildWorkspaces(spec: ScenarioSpec): SimWorkspace[] {
  const idGaps = randomFor(spec.seed, 'ids');
  const epochMs = Date.parse(spec.epoch);
  let nextId = 1000 + intBetween(idGaps, 0, 500);
  let numbered = spec.firstAccountId;
  return spec.workspaces.map((workspace, index) => {
    const accounts = generateAccounts({ seed: spec.seed, workspace: workspace.name, count: workspace.accounts, firstId: nextId, epochMs });
    nextId = (accounts.at(-1)?.id ?? nextId) + intBetween(idGaps, 1, 50);
    if (numbered !== undefined) for (const account of accounts) account.id = numbered++;
    return { id: index + 1, name: workspace.name, apiKey: apiKeyFor(spec.seed, workspace.name), accounts };
  });
}

const GRID_BRANDS = [
  'Acme',
  'Brightwave',
  'Cedar',
  'Clearpath',
  'Dunmore',
  'Evergreen',
  'Fjordline',
  'Glasshouse',
  'Harbor',
  'Ironclad',
  'Juniper',
  'Kestrel',
  'Lumen',
  'Maple',
  'Northbeam',
  'Orchard',
  'Pioneer',
  'Quantum',
  'Riverside',
  'São Paulo',
  'Summit',
  'Tidewater',
  'Umbra',
  'Vértice',
  'Wolfram',
  'Zürich',
];
const GRID_KINDS = ['Outbound', 'Capital', 'Labs', 'Group', 'Partners', 'Media', 'Health', 'Logistics'];

/** "Acme Outbound", "Brightwave Capital", ... then "Acme Outbound 2" once every pair is used. */
function gridNames(count: number): string[] {
  const names: string[] = [];
  for (let index = 0; names.length < count; index++) {
    const brand = GRID_BRANDS[index % GRID_BRANDS.length];
    const kind = GRID_KINDS[Math.floor(index / GRID_BRANDS.length) % GRID_KINDS.length];
    const round = Math.floor(index / (GRID_BRANDS.length * GRID_KINDS.length));
    names.push(round === 0 ? `${brand} ${kind}` : `${brand} ${kind} ${round + 1}`);
  }
  return names;
}
