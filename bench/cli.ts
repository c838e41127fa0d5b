import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLocalDatabase } from '../local/database';
import { countRealWorkspaces } from '../local/simulator-workspaces';
import { median, type Figure } from './report';

/*
 * Issue 14 item 6: the CLI's start-up against its floor. Read commands are timed against a
 * bare node process that connects with postgres.js and runs one query on the same
 * database, interleaved run by run; `npm start` (what it runs: node bin/sender-sync.mjs
 * run) is timed to its first line of output and to the first request reaching the
 * simulator it starts (bench/startup-probe.mjs reports that from inside the process),
 * against the project's embedded Postgres, initialised but not running, as a developer
 * finds it. Issue 20 item 7: `sender-sync status` as the README's quickstart puts it on the
 * PATH (`npm link --ignore-scripts`, here into a prefix of its own), and through `npx`.
 */
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(ROOT, 'bin/sender-sync.mjs');
const FLOOR = path.join(ROOT, 'bench/floor-query.mjs');
const PROBE = path.join(ROOT, 'bench/startup-probe.mjs');
const READ_RUNS = 7;
const READ_COMMANDS = ['status', 'missing', 'accounts', 'jobs'] as const;
const READ_TARGET = 2;
const FIRST_LINE_TARGET_SECONDS = 0.5;
const FIRST_REQUEST_TARGET_SECONDS = 1.5;

interface Timed {
  code: number | null;
  ms: number;
  firstOutputMs?: number;
  firstRequestMs?: number;
  output: string;
}

export async function benchCli(databaseUrl: string, startRuns: number, log: (line: string) => void): Promise<Figure[]> {
  const env = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'ERROR' };
  // Builds the bundle if a source changed since the last build, so no timed run pays for it.
  await expectOk(timed(process.execPath, [BIN, '--help'], env), 'sender-sync --help');
  log('  a first sync into the bench database, so status has a job to show');
  await expectOk(timed(process.execPath, [BIN, 'run', '--sim-port', '0'], env), 'sender-sync run');
  return [...(await benchReadCommands(env, log)), ...(await benchOnPath(env, log)), ...(await benchStart(startRuns, log))];
}

async function benchReadCommands(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<Figure[]> {
  const floor: number[] = [];
  const samples = new Map<string, { ms: number[]; ratio: number[] }>(READ_COMMANDS.map((c) => [c, { ms: [], ratio: [] }]));
  await expectOk(timed(process.execPath, [FLOOR], env), 'the floor query');
  for (let run = 1; run <= READ_RUNS; run += 1) {
    const floorMs = (await expectOk(timed(process.execPath, [FLOOR], env), 'the floor query')).ms;
    floor.push(floorMs);
    const line = [`floor ${Math.round(floorMs)} ms`];
    for (const command of READ_COMMANDS) {
      const { ms } = await expectOk(timed(process.execPath, [BIN, command], env), `sender-sync ${command}`);
      samples.get(command)!.ms.push(ms);
      samples.get(command)!.ratio.push(ms / floorMs);
      line.push(`${command} ${Math.round(ms)} ms`);
    }
    log(`  run ${run}/${READ_RUNS}: ${line.join(', ')}`);
  }
  const section = '14.6 read commands';
  const figures: Figure[] = [
    {
      section,
      name: 'floor: node + postgres.js, one query',
      value: median(floor),
      unit: 'ms',
      runs: READ_RUNS,
      samples: floor,
      note: 'bench/floor-query.mjs: a bare node process connecting with postgres.js and running one query on the same database',
    },
  ];
  for (const command of READ_COMMANDS) {
    const { ms, ratio } = samples.get(command)!;
    figures.push(
      { section, name: `sender-sync ${command}`, value: median(ms), unit: 'ms', runs: READ_RUNS, samples: ms },
      {
        section,
        name: `${command} / floor`,
        value: median(ratio),
        unit: 'x',
        runs: READ_RUNS,
        samples: ratio,
        target: { op: '<=', value: READ_TARGET, text: `<= ${READ_TARGET}x` },
        note: `node bin/sender-sync.mjs ${command} (the bundled CLI, DATABASE_URL) over the floor, run by run (interleaved)`,
      },
    );
  }
  return figures;
}

/** `sender-sync status` from the PATH (the linked bin, as the quickstart sets it up) and through npx, against the floor. */
async function benchOnPath(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<Figure[]> {
  // npm link into a prefix of the bench's own: the machine's global prefix is left as it is.
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'ss-bench-link-'));
  const linkEnv = { ...env, npm_config_prefix: prefix, PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:${env.PATH}` };
  const floor: number[] = [];
  const linked: number[] = [];
  const npx: number[] = [];
  try {
    execFileSync('npm', ['link', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: ROOT, env: linkEnv, stdio: 'ignore' });
    const bin = path.join(prefix, 'bin', 'sender-sync');
    await expectOk(timed(bin, ['status'], linkEnv), 'sender-sync status (linked)');
    await expectOk(timed('npx', ['sender-sync', 'status'], linkEnv), 'npx sender-sync status');
    for (let run = 1; run <= READ_RUNS; run += 1) {
      floor.push((await expectOk(timed(process.execPath, [FLOOR], env), 'the floor query')).ms);
      linked.push((await expectOk(timed(bin, ['status'], linkEnv), 'sender-sync status (linked)')).ms);
      npx.push((await expectOk(timed('npx', ['sender-sync', 'status'], linkEnv), 'npx sender-sync status')).ms);
      log(
        `  run ${run}/${READ_RUNS}: floor ${Math.round(floor.at(-1)!)} ms, sender-sync status ${Math.round(linked.at(-1)!)} ms, npx ${Math.round(npx.at(-1)!)} ms`,
      );
    }
  } finally {
    // Removes the links (the prefix's bin and lib/node_modules entries), never what they point to.
    rmSync(prefix, { recursive: true, force: true });
  }
  const section = '20.7 sender-sync on the PATH';
  const ratio = linked.map((ms, i) => ms / floor[i]);
  const added = npx.map((ms, i) => ms - linked[i]);
  return [
    {
      section,
      name: 'sender-sync status (npm link)',
      value: median(linked),
      unit: 'ms',
      runs: READ_RUNS,
      samples: linked,
      note: 'the bin `npm link --ignore-scripts` puts on the PATH (a prefix of its own here), run as a person types it',
    },
    {
      section,
      name: 'sender-sync status / floor',
      value: median(ratio),
      unit: 'x',
      runs: READ_RUNS,
      samples: ratio,
      target: { op: '<=', value: READ_TARGET, text: `<= ${READ_TARGET}x` },
      note: 'over node + postgres.js running one query (bench/floor-query.mjs), run by run (interleaved)',
    },
    { section, name: 'npx sender-sync status', value: median(npx), unit: 'ms', runs: READ_RUNS, samples: npx },
    {
      section,
      name: 'what npx adds',
      value: median(added),
      unit: 'ms',
      runs: READ_RUNS,
      samples: added,
      note: "npx sender-sync status minus the linked bin's time, run by run: npm's own start-up",
    },
  ];
}

async function benchStart(runs: number, log: (line: string) => void): Promise<Figure[]> {
  const { DATABASE_URL: _application, ...env } = process.env;
  // The project's embedded Postgres, initialised here when it is not yet (not timed). A run
  // syncs the simulator only when no real workspace is registered: never time a real sync.
  const embedded = await openLocalDatabase({});
  const real = await countRealWorkspaces(embedded.sql).finally(() => embedded.close());
  if (real > 0) {
    log(`  npm start not timed: the embedded Postgres has ${real} real workspaces registered, which a run would sync`);
    return [];
  }
  const probeDir = mkdtempSync(path.join(os.tmpdir(), 'ss-bench-start-'));
  const firstLine: number[] = [];
  const firstRequest: number[] = [];
  const viaNpm: number[] = [];
  try {
    const probed = (run: number) => ({
      ...env,
      LOG_LEVEL: 'ERROR',
      NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import ${PROBE}`.trim(),
      SENDER_SYNC_BENCH_PROBE_FILE: path.join(probeDir, `first-request-${run}`),
    });
    for (let run = 1; run <= runs; run += 1) {
      const direct = await expectOk(timed(process.execPath, [BIN, 'run', '--sim-port', '0'], probed(run)), 'npm start');
      if (direct.firstRequestMs === undefined) throw new Error('npm start: bench/startup-probe.mjs saw no request reach the simulator');
      firstLine.push(direct.firstOutputMs! / 1000);
      firstRequest.push(direct.firstRequestMs! / 1000);
      const npm = await expectOk(timed('npm', ['start', '--silent', '--', '--sim-port', '0'], probed(runs + run)), 'npm start');
      viaNpm.push(npm.firstOutputMs! / 1000);
      log(
        `  run ${run}/${runs}: first line ${direct.firstOutputMs!.toFixed(0)} ms, first request ${direct.firstRequestMs!.toFixed(0)} ms, ` +
          `whole run ${(direct.ms / 1000).toFixed(1)} s; through npm: first line ${npm.firstOutputMs!.toFixed(0)} ms`,
      );
    }
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
  const section = '14.6 npm start';
  const how = 'node bin/sender-sync.mjs run (what npm start runs) from its spawn, the embedded Postgres initialised and stopped';
  return [
    {
      section,
      name: 'first line of output',
      value: median(firstLine),
      unit: 's',
      runs,
      samples: firstLine,
      target: { op: '<=', value: FIRST_LINE_TARGET_SECONDS, text: `<= ${FIRST_LINE_TARGET_SECONDS} s` },
      note: how,
    },
    {
      section,
      name: 'first request at the simulator',
      value: median(firstRequest),
      unit: 's',
      runs,
      samples: firstRequest,
      target: { op: '<=', value: FIRST_REQUEST_TARGET_SECONDS, text: `<= ${FIRST_REQUEST_TARGET_SECONDS} s` },
      note: `${how}; the time the simulator's HTTP server received its first request (bench/startup-probe.mjs)`,
    },
    {
      section,
      name: 'first line through npm',
      value: median(viaNpm),
      unit: 's',
      runs,
      samples: viaNpm,
      note: "npm start --silent from its spawn: the same, npm's own start-up included",
    },
  ];
}

/** Runs a command to its end: wall time, and when its first output and (with the probe) its first simulator request came. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.timeOrigin + performance.now();
    const started = performance.now();
    let firstOutputMs: number | undefined;
    let output = '';
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      firstOutputMs ??= performance.now() - started;
      output += chunk.toString();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => {
      const probeFile = env.SENDER_SYNC_BENCH_PROBE_FILE;
      let firstRequestMs: number | undefined;
      if (probeFile) {
        try {
          firstRequestMs = Number(readFileSync(probeFile, 'utf8')) - startedAt;
        } catch {
          // No request reached the simulator.
        }
      }
      resolve({ code, ms: performance.now() - started, firstOutputMs, firstRequestMs, output });
    });
  });
}

async function expectOk(running: Promise<Timed>, what: string): Promise<Timed> {
  const result = await running;
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.output.slice(-2000)}`);
  return result;
}
