import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Sql } from '../lambdas/db/client';
import { SYNC_NODE_OPTIONS } from '../infra/node-options';
import { clearAccounts } from './database';
import { CONFIG, registerScenario } from './deps';
import { median, type Figure } from './report';
import { startSimChild } from './sim-child';

/*
 * Item 5: peak RSS of syncing one workspace of 10,000, 30,000 and 100,000 accounts,
 * the simulator (L = 0) and the sync each in a process of their own. The sync runs
 * bundled as the stack bundles its Lambdas (esbuild, ESM, minified, AWS SDK external)
 * and with the sync Lambda's NODE_OPTIONS (infra/node-options.ts: its heap cap), not
 * under tsx, whose loader thread a Lambda does not have. A bounded sync holds one batch
 * and a few pages whatever the account count, so the peak should not grow with it.
 */
const run = promisify(execFile);
const HERE = path.dirname(new URL(import.meta.url).pathname);
// Under node_modules, so the external @aws-sdk packages resolve as they do in the Lambda runtime.
const BUNDLE = path.join(HERE, '..', 'node_modules', '.cache', 'sender-sync-bench', 'memory-child.mjs');
const REQUIRE_SHIM =
  "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);";
export const MEMORY_SIZES = [10_000, 30_000, 100_000];
const MB = 1024 * 1024;

interface ChildResult {
  accounts: number;
  status: string;
  invocations: number;
  wallMs: number;
  rssBeforeSync: number;
  peakRssBytes: number;
  heapAfterGcBytes: number;
}

async function bundleChild(): Promise<void> {
  await build({
    entryPoints: [path.join(HERE, 'memory-child.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    minify: true,
    keepNames: true,
    external: ['@aws-sdk/*'],
    banner: { js: REQUIRE_SHIM },
    logLevel: 'error',
  });
}

export async function benchMemory(sql: Sql, url: string, runs: number, log: (line: string) => void): Promise<Figure[]> {
  await bundleChild();
  const peaks = new Map<number, number[]>();
  const live = new Map<number, number[]>();
  const before: number[] = [];
  for (const size of MEMORY_SIZES) {
    const sim = await startSimChild(`grid:1:${size}`, 0);
    try {
      const { secretsFile } = await registerScenario(sql, sim);
      for (let attempt = 1; attempt <= runs; attempt++) {
        await clearAccounts(sql);
        const { stdout } = await run(process.execPath, ['--expose-gc', BUNDLE], {
          // The sync Lambda's own NODE_OPTIONS (its heap cap included), as the stack deploys them.
          env: { ...process.env, NODE_OPTIONS: SYNC_NODE_OPTIONS, BENCH_DATABASE_URL: url, BENCH_SECRETS_FILE: secretsFile },
          maxBuffer: 1024 * 1024,
        });
        const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
        if (result.status !== 'completed' || result.accounts !== size)
          throw new Error(`memory run of ${size}: ${result.status}, ${result.accounts} accounts`);
        peaks.set(size, [...(peaks.get(size) ?? []), result.peakRssBytes / MB]);
        live.set(size, [...(live.get(size) ?? []), result.heapAfterGcBytes / MB]);
        before.push(result.rssBeforeSync / MB);
        log(
          `  ${size} accounts run ${attempt}/${runs}: peak RSS ${(result.peakRssBytes / MB).toFixed(0)} MB (${(result.rssBeforeSync / MB).toFixed(0)} MB before the sync, ` +
            `${(result.heapAfterGcBytes / MB).toFixed(1)} MB heap live after it), ${Math.round(result.wallMs)} ms, ${result.invocations} invocation(s)`,
        );
      }
    } finally {
      await sim.close();
    }
  }
  await clearAccounts(sql);
  const smallest = median(peaks.get(MEMORY_SIZES[0])!);
  const largest = median(peaks.get(MEMORY_SIZES.at(-1)!)!);
  const growth = largest / smallest;
  const section = '5 memory';
  return [
    ...MEMORY_SIZES.map(
      (size): Figure => ({
        section,
        name: `peak RSS, ${size.toLocaleString('en-US')} accounts`,
        value: median(peaks.get(size)!),
        unit: 'MB',
        runs,
        samples: peaks.get(size),
        target: size === MEMORY_SIZES.at(-1) ? { op: '<', value: 200, text: '< 200 MB' } : undefined,
        note:
          `heap live after the sync (after a full GC): ${median(live.get(size)!).toFixed(1)} MB` +
          (size === MEMORY_SIZES[0]
            ? `; NODE_OPTIONS=${SYNC_NODE_OPTIONS} as deployed; one workspace, batches of ${CONFIG.batchSize}, page concurrency ${CONFIG.pageConcurrency}, time budget ${CONFIG.syncBudgetSeconds} s; RSS before the sync starts: ${median(before).toFixed(0)} MB (Node and the bundled task code)`
            : ''),
      }),
    ),
    {
      section,
      name: `peak RSS growth ${MEMORY_SIZES[0].toLocaleString('en-US')} -> ${MEMORY_SIZES.at(-1)!.toLocaleString('en-US')}`,
      value: growth,
      unit: 'x',
      runs,
      target: { op: '<=', value: 1.15, text: 'flat (<= 1.15x)' },
      note: `10x the accounts; flat means the peak grows by at most 15%`,
    },
  ];
}
