import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * Imports run one way: the CLI uses the core, the local run and the state machine;
 * nothing but the CLI (and the tests of the CLI) imports from cli/.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const CLI = path.join(ROOT, 'cli');
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'cli', '.sender-sync']);

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** The relative imports of a source text that resolve into cli/. */
function importsIntoCli(file: string, text: string): string[] {
  const found: string[] = [];
  for (const [, specifier] of text.matchAll(SPECIFIER)) {
    if (!specifier.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), specifier);
    if (target === CLI || target.startsWith(`${CLI}${path.sep}`)) found.push(specifier);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('cdk.out')) files.push(...sourceFiles(path.join(dir, entry.name)));
    } else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) {
      files.push(path.join(dir, entry.name));
    }
  }
  return files;
}

/** Tests of the CLI must import it; they live in a cli/ folder of their own under test/. */
const isCliTest = (file: string) =>
  path.relative(ROOT, file).split(path.sep).slice(0, -1).includes('cli') && file.startsWith(path.join(ROOT, 'test'));

describe('imports', () => {
  it('finds an import into cli/, static or dynamic, and ignores packages and siblings', () => {
    const file = path.join(ROOT, 'local', 'example.ts');
    const text = [
      "import { findJob } from '../cli/reports';",
      "export { x } from '../cli/commands/run';",
      "const m = await import('../cli/main');",
      "import '../cli/output';",
      "import { Command } from 'commander';",
      "import { openLocalDatabase } from './database';",
      "import { clip } from '../lambdas/cli-like';",
    ].join('\n');
    expect(importsIntoCli(file, text)).toEqual(['../cli/reports', '../cli/commands/run', '../cli/main', '../cli/output']);
  });

  it('never run back up into cli/ from outside it', () => {
    // bin/sender-sync.mjs is the CLI's own launcher (it builds and runs the bundle): it is the CLI, not a user of it.
    const launcher = path.join(ROOT, 'bin', 'sender-sync.mjs');
    const offenders = sourceFiles(ROOT)
      .filter((file) => !isCliTest(file) && file !== launcher)
      .flatMap((file) =>
        importsIntoCli(file, readFileSync(file, 'utf8')).map((specifier) => `${path.relative(ROOT, file)} imports ${specifier}`),
      );
    expect(offenders).toEqual([]);
  });
});
