import type { Sql } from '../../lambdas/db/client';
import type { ScenarioSpec } from '../../sim/scenarios';
import { startEmailBisonSim, type EmailBisonSim } from '../../sim/server';

/*
 * Two EmailBison instances as the replaced system knew them: labelled 'Maverick' and 'Long
 * Run' in its client_registry, with workspace ids (1, 2, …) and sender-email ids (from 5000,
 * consecutive) that overlap, and clients, emails and keys of their own.
 */

export interface LabelledInstance {
  /** The replaced registry's bison_instance. */
  label: 'Maverick' | 'Long Run';
  sim: EmailBisonSim;
  /** Its workspaces' names, in EmailBison id order (1, 2, …). */
  names: string[];
}

export const FIRST_ACCOUNT_ID = 5000;

const CLIENTS: Record<LabelledInstance['label'], [string, number][]> = {
  Maverick: [
    ['Acme Outbound', 20],
    ['Brightwave Capital', 35],
  ],
  'Long Run': [
    ['Cedar Realty', 35],
    ['Dunmore Legal', 20],
  ],
};

function spec(label: LabelledInstance['label']): ScenarioSpec {
  return {
    name: `two-instances-${label}`,
    seed: 23,
    epoch: '2026-11-01T09:00:00Z',
    firstAccountId: FIRST_ACCOUNT_ID,
    workspaces: CLIENTS[label].map(([name, accounts]) => ({ name, accounts })),
  };
}

export async function startTwoInstances(): Promise<LabelledInstance[]> {
  return Promise.all(
    (['Maverick', 'Long Run'] as const).map(async (label) => {
      const sim = await startEmailBisonSim({ scenario: spec(label) });
      return { label, sim, names: sim.workspaces().map((w) => w.name) };
    }),
  );
}

/** `--instance 'Label=URL'` for each instance. */
export function instanceArgs(instances: readonly LabelledInstance[]): string[] {
  return instances.flatMap((instance) => ['--instance', `${instance.label}=${instance.sim.url}`]);
}

/**
 * The replaced system's client_registry, its columns as its migrations made them (the ones the
 * import reads, and enough of the others to be that table): workspace_id the primary key,
 * workspace_name unique, bison_instance limited to its two labels.
 */
export async function createClientRegistry(sql: Sql): Promise<void> {
  await sql`
    create table client_registry (
      workspace_id integer primary key,
      workspace_name text not null unique,
      display_name text,
      is_active boolean default true,
      billing_type text not null default 'retainer' check (billing_type in ('per_lead', 'retainer')),
      bison_workspace_id integer,
      bison_workspace_name text,
      bison_instance text check (bison_instance in ('Maverick', 'Long Run')),
      bison_api_key text,
      created_at timestamptz default now(),
      updated_at timestamptz default now()
    )
  `;
}

/** One row per workspace of each instance, labelled, with its key. */
export async function fillClientRegistry(sql: Sql, instances: readonly LabelledInstance[]): Promise<void> {
  await sql`delete from client_registry`;
  let rowId = 0;
  for (const { label, sim } of instances) {
    for (const workspace of sim.workspaces()) {
      await sql`
        insert into client_registry (workspace_id, workspace_name, bison_workspace_id, bison_workspace_name, bison_instance, bison_api_key)
        values (${++rowId}, ${workspace.name}, ${workspace.id}, ${workspace.name}, ${label}, ${workspace.apiKey})
      `;
    }
  }
}

/** The (EmailBison workspace id, sender-email id) pairs both instances hold. */
export function sharedIds(instances: readonly LabelledInstance[]): string[] {
  const [first, second] = instances.map(
    ({ sim }) => new Set(sim.workspaces().flatMap((w) => sim.truth(w.name).map((a) => `${w.id}/${a.id}`))),
  );
  return [...first].filter((pair) => second.has(pair));
}
