import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sender-sync <args>` as a person would (bin/sender-sync.mjs), with extra environment. */
export function cli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return startCli(args, env, input).result;
}

/** As `cli`, with the child process, for signalling it. */
export function startCli(args: string[], env: Record<string, string>, input?: string): { child: ChildProcess; result: Promise<CliResult> } {
  let child!: ChildProcess;
  const result = new Promise<CliResult>((resolve) => {
    child = execFile(
      process.execPath,
      [path.join(ROOT, 'bin/sender-sync.mjs'), ...args],
      { cwd: ROOT, env: { ...inheritedEnv(), LOG_LEVEL: 'ERROR', ...env }, maxBuffer: 20 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
  return { child, result };
}

/** The test process's environment without DATABASE_URL: a child gets a database only when the test names one. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  return rest;
}
