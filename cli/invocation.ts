/**
 * The command this process runs, set by cli/main.ts before its action starts: a usage error
 * names its `--help`, and a read command (READ_COMMANDS) may only open the database to read.
 */
export const invocation = { path: 'sender-sync', readOnly: false };

/** The line after a usage error: where the command's options and an example are. */
export function seeHelp(path = invocation.path): string {
  return `see \`${path} --help\``;
}
