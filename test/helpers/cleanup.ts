import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/*
 * What a test file made and must remove: test databases, temp directories. Cleanups run
 * once, after the file's own afterAll hooks (test/helpers/file-setup.ts registers the
 * hook before any test file code runs), wherever they were registered: at the top of the
 * file, in a beforeAll, or inside a test, where an afterAll would never run.
 */
type Cleanup = () => unknown;
const pending: Cleanup[] = [];

export function atFileEnd(cleanup: Cleanup): void {
  pending.push(cleanup);
}

/** A temp directory of this test file's own, removed after its tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function runFileCleanups(): Promise<void> {
  const failures: unknown[] = [];
  while (pending.length > 0) {
    const cleanup = pending.pop()!;
    try {
      await cleanup();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} test cleanup(s) failed`);
}
