import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database';
import { runLocally } from '../helpers/local-run';
import { createWorld, type World } from '../helpers/world';

/*
 * The warmup pass (issue 24) under the faults the account sync meets, through the local state
 * machine with the real handlers: a workspace either ends with every row of the day equal to
 * the simulator's figures, or fails with an error naming it, the rows it wrote kept.
 */
const db = await createTestDatabase();
const WORKSPACES = ['Acme Outbound', 'Kestrel Ventures', 'Northbeam Recruiting', 'Tidewater Consulting'];
const DAY = '2026-12-04';
let world: World;

beforeAll(async () => {
  world = await createWorld(db.sql, { only: WORKSPACES });
  world.deps.emailbison = { ...world.deps.emailbison, headersTimeoutMs: 300 };
});
afterAll(() => world.sim.close());

async function rowsOf(workspace: string) {
  return db.sql<{ emailbison_id: number; warmup_score: number; warmup_emails_sent: number }[]>`
    select d.emailbison_id::int as emailbison_id, d.warmup_score::float8 as warmup_score, d.warmup_emails_sent
    from sender_email_warmup_daily d join workspaces w on w.id = d.workspace_id
    where w.name = ${workspace} and d.day = ${DAY}::date order by d.emailbison_id
  `;
}

const truth = (workspace: string) =>
  world.sim.warmupTruth(workspace, DAY).map((item) => ({
    emailbison_id: item.id,
    warmup_score: item.warmup_score,
    warmup_emails_sent: item.warmup_emails_sent,
  }));

async function pass() {
  await db.sql`delete from sender_email_warmup_daily`;
  const result = await runLocally(world.deps, { mode: 'warmup', day: DAY });
  world.sim.clearFaults();
  const [job] = await db.sql`select id, status, warnings from polling_job_status where execution_arn = ${result.executionArn}`;
  return job;
}

describe('the warmup pass under faults', () => {
  it('a hung page, 429s with Retry-After and a proxy’s HTML error pages: every row of every workspace', async () => {
    world.sim.setFaults('Tidewater Consulting', { hangPages: [3], hangTimes: 1 });
    world.sim.setFaults('Northbeam Recruiting', { rateLimitFraction: 0.2, retryAfterSeconds: 1 });
    world.sim.setFaults('Acme Outbound', { htmlErrorPage: { status: 502, times: 2 } });
    const job = await pass();
    expect(job).toMatchObject({ status: 'completed', warnings: [] });
    for (const name of WORKSPACES) expect(await rowsOf(name)).toEqual(truth(name));
  });

  it('a page that never ends fails its workspace with ResponseTooLargeError naming it; the others are whole', async () => {
    world.sim.setFaults('Kestrel Ventures', { endlessBody: true });
    const job = await pass();
    expect(job.status).toBe('partial');
    expect(job.warnings).toEqual([expect.stringMatching(/^Kestrel Ventures: failed: ResponseTooLargeError: .*"Kestrel Ventures"/)]);
    expect(await rowsOf('Kestrel Ventures')).toEqual([]);
    for (const name of WORKSPACES.filter((n) => n !== 'Kestrel Ventures')) expect(await rowsOf(name)).toEqual(truth(name));
  });
});
