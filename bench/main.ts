import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { openBenchDatabase } from './database';
import { pipelineDeps, registerScenario } from './deps';
import { benchCli } from './cli';
import { benchCompat } from './compat';
import { benchEmailBison } from './emailbison';
import { benchEndToEnd } from './end-to-end';
import { benchMemory } from './memory';
import { runPipeline } from './pipeline';
import { readmeTable } from './readme-table';
import { renderTable, verdict, type Figure } from './report';
import { benchPaths, parseBenchArgs, saveResults } from './save-results';
import { benchScale, benchScheduling } from './scale';
import { startSimChild } from './sim-child';
import { benchWarmup } from './warmup';
import { benchWebhooks } from './webhooks';
import { benchWrite } from './write';

/*
 * `npm run bench`: every figure of issue 7 item 1 and issue 12 item 8, each the median of
 * RUNS runs (ratios taken run by run in the same process), printed as a table with its
 * target, written to bench/results/latest.json; with --write-docs also to
 * bench/results/readme.json and, from it, to docs/performance.md's table
 * (bench/save-results.ts). About 5-6 minutes on a 2-core machine.
 * `npm run bench -- --only emailbison`: issue 12's figures alone (about 6 minutes; 12a at 5 req/s, issue 22), written to
 * bench/results/latest-emailbison.json; `--only cli`: issue 14's start-up figures alone
 * and sender-sync status from the PATH and through npx, issue 20 (about a minute), to latest-cli.json; `--only write`: item 4 alone (about a minute), to
 * latest-write.json; `--only webhooks`: the webhook intake's p50/p99 over 2,000 concurrent
 * deliveries and the applier's events/s (issue 19), to latest-webhooks.json; `--only scale`: issue 22's scheduling figures
 * (about a minute), to latest-scale.json; `--only warmup`: issue 24's daily warmup pass on a throttled
 * instance against its rate floor (about five minutes: 4 passes of about 65 s at 5 requests a second), to latest-warmup.json; `--only compat`: issue 23's dashboard reads at 100,000 accounts (about five minutes on a quiet machine: 3 runs of 100 pages on each side), to latest-compat.json.
 */
const RUNS = 3;
const HERE = path.dirname(new URL(import.meta.url).pathname);
const PATHS = benchPaths(path.join(HERE, '..'));
const log = (line: string) => console.log(line);

const options = parseBenchArgs(process.argv.slice(2));

const started = Date.now();
const db = await openBenchDatabase(process.env);
const figures: Figure[] = [];
try {
  log(`sender-sync bench: Postgres ${db.server}, Node ${process.version}, ${os.cpus().length} CPUs`);
  if (options.only !== 'cli' && options.only !== 'scale' && options.only !== 'compat') {
    log('warm-up: one seed-2025 sync at L=0 (synthesizes the definition, warms the JIT and the pools)');
    await warmUp();
  }
  if (!options.only) {
    for (const scenario of ['seed-2025', 'seed-2026']) {
      log(`items 1-3: ${scenario}, the sync and the baseline interleaved at L=50 ms, then the sync at L=0 (EMAILBISON_MAX_RPS=0)`);
      figures.push(...(await benchEndToEnd(db.sql, scenario, RUNS, log)));
    }
    log('item 4: the write path next to a raw COPY');
    figures.push(...(await benchWrite(db.sql, db.url, log)));
    log('item 5: peak RSS of one workspace of 10,000 / 30,000 / 100,000 accounts, each sync in its own process');
    figures.push(...(await benchMemory(db.sql, db.url, RUNS, log)));
    log('item 6: 1,000 workspaces x 200 accounts');
    figures.push(...(await benchScale(db.sql, RUNS, log)));
  }
  if (!options.only || options.only === 'scale') {
    log(
      'issue 22 item 6: every workspace synced at 1,000 and 3,000 workspaces, one and two instances (real Start/Finalize job, simulated syncs)',
    );
    figures.push(...(await benchScheduling(db.sql, log)));
  }
  if (!options.only || options.only === 'emailbison') {
    log('issue 12: EmailBison as it is now (a throttled instance, a cursor-only instance, a dead instance)');
    figures.push(...(await benchEmailBison(db.sql, RUNS, log)));
  }
  if (!options.only || options.only === 'compat') {
    log(
      "issue 23: the dashboard's read of email_accounts_view at 100,000 accounts against sender_emails; compat's triggers on the write path",
    );
    figures.push(...(await benchCompat(db.sql, RUNS, log)));
  }
  if (!options.only || options.only === 'cli') {
    log(
      'issue 14 item 6, issue 20 item 7: read commands (node bin/…, the linked bin on the PATH, npx) against node + postgres.js running one query; npm start to its first line and first request',
    );
    figures.push(...(await benchCli(db.url, RUNS, log)));
  }
  if (options.only === 'write') {
    log('item 4: the write path next to a raw COPY (account history on)');
    figures.push(...(await benchWrite(db.sql, db.url, log)));
  }
  if (!options.only || options.only === 'warmup') {
    log('issue 24: the daily warmup pass (the state machine in warmup mode) on a throttled instance');
    figures.push(...(await benchWarmup(db.sql, RUNS, log)));
  }
  if (!options.only || options.only === 'webhooks') {
    log('issue 19: the webhook intake on a bad day, 2,000 concurrent deliveries; the applier through the queue and in one batch');
    figures.push(...(await benchWebhooks(db.sql, log)));
  }

  const table = renderTable(figures);
  log(`\n${table}`);
  const misses = figures.filter((f) => verdict(f) === 'MISS');
  log(
    `\n${figures.filter((f) => f.target).length - misses.length} targets met, ${misses.length} missed${misses.length ? `: ${misses.map((f) => `${f.section} / ${f.name}`).join('; ')}` : ''}.`,
  );
  const elapsedSeconds = Math.round((Date.now() - started) / 1000);
  const results = await resultsJson(elapsedSeconds);
  if (!options.only) log(`\nThe performance table (docs/performance.md) from this run:\n\n${readmeTable(results)}\n`);
  const written = saveResults(results, options, PATHS);
  log(`bench took ${elapsedSeconds} s; wrote ${written.map((file) => path.relative(process.cwd(), file)).join(', ')}`);
  if (!options.writeReadme && !options.only)
    log('docs/performance.md left as it is (npm run bench -- --write-docs rewrites its table from this run)');
} finally {
  await db.close();
}

async function warmUp(): Promise<void> {
  const sim = await startSimChild('seed-2025', 0);
  try {
    const { secretsFile } = await registerScenario(db.sql, sim);
    await runPipeline(pipelineDeps(db.sql, secretsFile));
  } finally {
    await sim.close();
  }
}

async function resultsJson(elapsedSeconds: number) {
  const [{ version }] = await db.sql<{ version: string }[]>`select version()`;
  return {
    generatedAt: new Date().toISOString(),
    commit: git(['rev-parse', '--short', 'HEAD']),
    elapsedSeconds,
    runsPerFigure: RUNS,
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      postgres: version,
      database: db.kind,
    },
    sources: {
      historyEventTypes: 'https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html',
      quotas: 'https://docs.aws.amazon.com/step-functions/latest/dg/limits.html',
      historyQuotaWorkarounds: 'https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html',
    },
    figures: figures.map((f) => ({ ...f, value: round(f.value), samples: f.samples?.map(round), verdict: verdict(f) || undefined })),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: HERE, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
