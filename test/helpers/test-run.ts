/** Names shared by the global setup (main process) and the test files (workers). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Caches that appear in the run's temp root because child processes (`node --import tsx`,
 * Node 22's module compile cache) keep them under os.tmpdir(): not something a test made.
 */
export const TOOL_CACHES = [/^tsx-/, /^node-compile-cache$/];
