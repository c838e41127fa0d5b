import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, it } from 'vitest';

it('`npm run emailbison-sim -- --scenario seed-2025` serves page 1 of a workspace in the documented shape, and stops on Ctrl-C', async () => {
  const sim = await startSimCli(['--scenario', 'seed-2025', '--port', '0']);
  const { child } = sim;
  try {
    const output = sim.output();
    const url = /listening on (http:\/\/\S+)/.exec(output)![1];
    const acme = /^\s*1\s+Acme Outbound\s+187\s+(sim_\S+)$/m.exec(output);
    expect(output).toContain('scenario seed-2025: 26 workspaces, 4228 accounts');
    expect(acme).not.toBeNull();

    const response = await fetch(`${url}/api/sender-emails?page=1`, { headers: { authorization: `Bearer ${acme![1]}` } });
    const body = (await response.json()) as { data: Record<string, unknown>[]; links: object; meta: object };

    expect(response.status).toBe(200);
    expect(Object.keys(body)).toEqual(['data', 'links', 'meta']);
    expect(body.data).toHaveLength(15);
    expect(Object.keys(body.data[0])).toEqual(
      expect.arrayContaining(['id', 'name', 'email', 'status', 'tags', 'emails_sent_count', 'warmup_enabled', 'created_at']),
    );
    expect(Object.keys(body.links)).toEqual(['first', 'last', 'prev', 'next']);
    expect(body.meta).toEqual({
      current_page: 1,
      from: 1,
      last_page: 13,
      per_page: 15,
      to: 15,
      total: 187,
      path: `${url}/api/sender-emails`,
    });

    process.kill(-child.pid!, 'SIGINT');
    const [code, signal] = await once(child, 'exit');
    expect(sim.output()).toContain('SIGINT: shutting down');
    expect(code === 0 || signal === 'SIGINT').toBe(true);
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
}, 30_000);

it('`npm run emailbison-sim` takes the instance flags, prints them, and serves accordingly', async () => {
  const flags = [
    '--scenario',
    'grid:2:20',
    '--port',
    '0',
    '--pagination',
    'cursor-only',
    '--page-cap',
    '3',
    '--rate',
    '2',
    '--rate-window',
    '60',
    '--no-users-route',
    '--no-warmup-route',
  ];
  const { child, output: read } = await startSimCli(flags);
  try {
    const output = read();
    const url = /listening on (http:\/\/\S+)/.exec(output)![1];
    const key = /^\s*1\s+Acme Outbound\s+20\s+(sim_\S+)$/m.exec(output)![1];
    expect(output).toContain(
      'pagination cursor-only; page cap 3; rate limit 2 requests per 60 s window (whole instance); invalid cursor first-page; per_page ignored (15); /api/users off (404); /api/warmup off (404)',
    );
    expect(output).toContain(`${url}/api/sender-emails?pagination_type=cursor`);

    const headers = { authorization: `Bearer ${key}` };
    const page = await fetch(`${url}/api/sender-emails?page=5`, { headers });
    const users = await fetch(`${url}/api/users`, { headers });
    const throttled = await fetch(`${url}/api/sender-emails`, { headers });

    expect(page.headers.get('x-ratelimit-limit')).toBe('2');
    expect(Object.keys(((await page.json()) as { meta: object }).meta)).toEqual(['path', 'per_page', 'next_cursor', 'prev_cursor']);
    expect(users.status).toBe(404);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(50);
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
}, 30_000);

/** `npm run emailbison-sim` in its own process group (so Ctrl-C reaches npm and the server alike), once it is listening. */
async function startSimCli(args: string[]) {
  const child = spawn('npm', ['run', '--silent', 'emailbison-sim', '--', ...args], {
    cwd: process.cwd(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  try {
    await waitFor(
      () => /Ctrl-C to stop/.test(output),
      15_000,
      () => output,
    );
  } catch (error) {
    process.kill(-child.pid!, 'SIGKILL');
    throw error;
  }
  return { child, output: () => output };
}

async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
