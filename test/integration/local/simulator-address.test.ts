import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertWorkspace } from '../../../lambdas/workspaces/registry';
import { ensureLocalWebhookSecret, localWebhookSecretFile } from '../../../local/webhook-secret';
import { startEmailBisonSim, type EmailBisonSim } from '../../../sim/server';
import { cli } from '../../helpers/cli';
import { createTestDatabase } from '../../helpers/database';
import { freshEmbeddedDir } from '../../helpers/embedded-dir';

/*
 * After `npm start` the simulated workspaces must point where the CLI can serve them again
 * (the simulator's port, as `npm run emailbison-sim` listens on it), and a command that
 * needs EmailBison says at once, in one line, when nothing serves them. The port here is a
 * free one given with --sim-port (4010 may be another worktree's), which a run treats as
 * it treats 4010 by default.
 */
const db = await createTestDatabase();
const state = freshEmbeddedDir('ss-sim-address-');
const env = { ...state.env, DATABASE_URL: db.url };
let sim: EmailBisonSim | undefined;
afterAll(() => sim?.close());
// `webhooks register` needs the local webhook secret before it asks EmailBison anything.
beforeAll(() => ensureLocalWebhookSecret(localWebhookSecretFile(state.env.SENDER_SYNC_SECRETS_FILE)));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('simulated workspaces after a run', () => {
  const NOT_RUNNING = (url: string) =>
    `sender-sync: SimulatorNotRunningError: The simulated EmailBison API is not running at ${url}, where the 26 simulated workspaces point: start it with \`npm run emailbison-sim\``;

  it('point at the simulator port, and check-keys says in one line that nothing serves them, then checks them once it runs', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const run = await cli(['run', '--sim-port', String(port)], env);
    expect(run.code, run.stderr).toBe(0);
    expect(await db.sql`select distinct base_url from workspaces`).toEqual([{ base_url: url }]);

    const started = Date.now();
    const down = await cli(['check-keys'], env);
    expect(Date.now() - started).toBeLessThan(5_000); // the CLI's own start included; the probe itself takes at most 1 s
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('');
    expect(down.stderr.trim().split('\n').at(-1)).toContain(NOT_RUNNING(url));
    expect(down.stderr).not.toMatch(/UNREACHABLE|TypeError/);

    const register = await cli(['webhooks', 'register', '--url', 'http://127.0.0.1:9'], env);
    expect(register.code).toBe(1);
    expect(register.stderr.trim().split('\n').at(-1)).toContain(NOT_RUNNING(url));

    // `npm run emailbison-sim -- --port <port>` serves the same workspaces with the same keys.
    sim = await startEmailBisonSim({ scenario: 'seed-2025', port });
    const up = await cli(['check-keys'], env);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain('26 of 26 keys OK');
  }, 180_000);

  it('a refused connection is named as such, never "(TypeError)"', async () => {
    const closed = await freePort();
    await db.sql`update workspaces set active = false`;
    await upsertWorkspace(db.sql, {
      name: 'Closed Port',
      baseUrl: `http://127.0.0.1:${closed}`,
      apiKeyRef: 'env:CLOSED_PORT_KEY',
      // Its delivery URL names the EmailBison workspace, so register needs it recorded.
      emailbisonWorkspaceId: 901,
    });
    const register = await cli(['webhooks', 'register', '--url', 'http://127.0.0.1:9', '--json'], { ...env, CLOSED_PORT_KEY: 'k' });
    expect(register.code).toBe(2);
    expect(register.stdout).toContain(`EmailBison at 127.0.0.1:${closed} did not answer GET /api/webhook-url`);
    expect(register.stdout).toContain('connection refused (ECONNREFUSED)');
    expect(register.stdout).not.toContain('TypeError');
  }, 60_000);
});
