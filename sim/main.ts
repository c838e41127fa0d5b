import { parseArgs } from 'node:util';
import { startEmailBisonSim, type SimLatency } from './server';

/**
 * `npm run emailbison-sim -- --scenario seed-2025 [--port 4010] [--latency-ms 40 | 20-120] [--seed N] [--host H]`
 * Serves the scenario until Ctrl-C. The first line printed is `listening on <url>`.
 */
const USAGE = 'usage: npm run emailbison-sim -- --scenario seed-2025|seed-2026|grid:N:M [--port 4010] [--latency-ms N|MIN-MAX] [--seed N] [--host 127.0.0.1]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'seed-2025' },
      port: { type: 'string', default: '4010' },
      'latency-ms': { type: 'string' },
      seed: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sim = await startEmailBisonSim({
    scenario: values.scenario,
    port: wholeNumber('--port', values.port),
    latencyMs: values['latency-ms'] === undefined ? undefined : parseLatency(values['latency-ms']),
    seed: values.seed === undefined ? undefined : wholeNumber('--seed', values.seed),
    host: values.host,
  });

  const workspaces = sim.workspaces();
  const nameWidth = Math.max(...workspaces.map((workspace) => workspace.name.length), 'workspace'.length);
  console.log(`listening on ${sim.url}`);
  console.log(`scenario ${values.scenario}: ${workspaces.length} workspaces, ${workspaces.reduce((sum, w) => sum + w.total, 0)} accounts`);
  console.log(`${'id'.padStart(4)}  ${'workspace'.padEnd(nameWidth)}  ${'accounts'.padStart(8)}  key`);
  for (const workspace of workspaces) {
    console.log(`${String(workspace.id).padStart(4)}  ${workspace.name.padEnd(nameWidth)}  ${String(workspace.total).padStart(8)}  ${workspace.apiKey}`);
  }
  console.log(`try: curl -H "Authorization: Bearer ${workspaces[0]?.apiKey}" ${sim.url}/api/sender-emails?page=1`);
  console.log('Ctrl-C to stop');

  const stop = (signal: string) => {
    console.log(`${signal}: shutting down`);
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} must be a whole number, got "${text}"`);
  return value;
}

function parseLatency(text: string): SimLatency {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { minMs: Number(range[1]), maxMs: Number(range[2]) };
  return wholeNumber('--latency-ms', text);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error(USAGE);
  process.exit(1);
});
