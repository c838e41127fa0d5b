/** Names shared by the global setup (main process) and the test files (workers). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Tool caches that appear in the run's temp root because a child process (`node --import
 * tsx`) writes its compile cache to os.tmpdir(): not something a test made.
 */
export const TOOL_CACHES = [/^tsx-/];
