import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SynthesizedFunction } from './cloud-assembly';

/*
 * Each Lambda as the runtime holds it: its asset alone in a task root, the AWS SDK v3
 * the Node.js runtime ships beside it (and nothing else), the environment the template
 * gives it, and a Node 22 process per warm container, started by a small runtime shim.
 *
 *   <sandbox>/node_modules/          the runtime's SDK: @aws-sdk/client-secrets-manager, client-sns and their dependencies
 *   <sandbox>/runtime/shim.mjs       the runtime (lambda-runtime-shim.mjs)
 *   <sandbox>/task/<function>/       the cdk.out asset: index.mjs (+ migrations/)
 *
 * ES modules ignore NODE_PATH, so the SDK sits in an ancestor directory of the task roots,
 * where `import "@aws-sdk/..."` finds it; NODE_PATH names it too, for require().
 */

const SHIM = fileURLToPath(new URL('./lambda-runtime-shim.mjs', import.meta.url));
/**
 * The packages the bundles leave to the runtime (infra/functions.ts externalizes @aws-sdk/*;
 * the Node 22 Lambda runtime ships the whole SDK v3): Secrets Manager for every function,
 * SNS for the ones that publish account changes, SQS for the webhook receiver and applier.
 */
const RUNTIME_SDK_ENTRIES = ['@aws-sdk/client-secrets-manager', '@aws-sdk/client-sns', '@aws-sdk/client-sqs'];

export type Node22 = { found: true; path: string; version: string } | { found: false; reason: string };

/** The Node 22 the Lambdas run on: this process's if it is 22, else the one .ci/run caches. */
export function findNode22(): Node22 {
  if (process.versions.node.startsWith('22.')) return { found: true, path: process.execPath, version: process.versions.node };
  const arch = os.arch() === 'arm64' ? 'arm64' : 'x64';
  const cache = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  const cached = path.join(cache, 'sender-sync-node22', 'node_modules', `node-linux-${arch}`, 'bin', 'node');
  if (!existsSync(cached)) {
    return {
      found: false,
      reason: `this is Node ${process.versions.node} and ${cached} does not exist (.ci/run installs it; or run the tests on Node 22)`,
    };
  }
  const version = execFileSync(cached, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('22.')) return { found: false, reason: `${cached} is Node ${version}, not 22` };
  return { found: true, path: cached, version };
}

/** The package directories the SDK client needs at run time: the client and its dependencies, transitively. */
export function runtimeSdkPackages(projectRoot: string): string[] {
  const found = new Set<string>();
  const locate = (name: string, fromDir: string): string => {
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
      if (dir === projectRoot || dir === path.dirname(dir)) throw new Error(`${name} (needed by the AWS SDK) is not installed`);
    }
  };
  const walk = (name: string, fromDir: string) => {
    const dir = locate(name, fromDir);
    if (found.has(dir)) return;
    found.add(dir);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dependency of Object.keys(pkg.dependencies ?? {})) walk(dependency, dir);
  };
  for (const entry of RUNTIME_SDK_ENTRIES) walk(entry, projectRoot);
  return [...found];
}

export interface Sandbox {
  root: string;
  runtimeDir: string;
  nodeModules: string;
  taskRoot(fn: SynthesizedFunction): string;
}

export function createSandbox(root: string, functions: SynthesizedFunction[], projectRoot: string): Sandbox {
  const runtimeDir = path.join(root, 'runtime');
  mkdirSync(runtimeDir, { recursive: true });
  cpSync(SHIM, path.join(runtimeDir, 'shim.mjs'));
  // Copied, not linked: a symlink resolves to its real path, whose parents hold the project's node_modules.
  for (const dir of runtimeSdkPackages(projectRoot)) {
    cpSync(dir, path.join(root, path.relative(projectRoot, dir)), { recursive: true, dereference: true });
  }
  const taskRoot = (fn: SynthesizedFunction) => path.join(root, 'task', fn.functionName);
  for (const fn of functions) cpSync(fn.assetDir, taskRoot(fn), { recursive: true });
  return { root, runtimeDir, nodeModules: path.join(root, 'node_modules'), taskRoot };
}

export type InvokeOutcome = { ok: true; result: unknown } | { ok: false; errorType: string; errorMessage: string };

export interface LambdaService {
  fn: SynthesizedFunction;
  invoke(event: unknown): Promise<InvokeOutcome>;
  /** Invocations answered (with a result or an error). */
  readonly invocations: number;
  /** Containers started (cold starts). */
  readonly coldStarts: number;
  /** The Node versions the containers reported at their cold start. */
  readonly nodeVersions: ReadonlySet<string>;
  /** Everything the containers wrote to stdout and stderr: their CloudWatch logs. */
  logs(): string;
  close(): Promise<void>;
}

interface Container {
  child: ChildProcess;
  ready: Promise<void>;
  pending?: { id: string; settle: (outcome: InvokeOutcome) => void };
}

/**
 * A function's containers: one invocation at a time each, reused while warm, another
 * started when all are busy (as the Map's concurrent iterations make Lambda do).
 */
export function createLambdaService(
  fn: SynthesizedFunction,
  options: { node: string; sandbox: Sandbox; environment: Record<string, string> },
): LambdaService {
  const idle: Container[] = [];
  const all = new Set<Container>();
  let invocations = 0;
  let coldStarts = 0;
  const nodeVersions = new Set<string>();
  let log = '';
  const taskRoot = options.sandbox.taskRoot(fn);
  const environment: Record<string, string> = {
    // What the Lambda Node.js runtime sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]rehearsal',
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: options.sandbox.runtimeDir,
    _HANDLER: fn.handler,
    NODE_PATH: options.sandbox.nodeModules,
    PATH: `${path.dirname(options.node)}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    REHEARSAL_FUNCTION_ARN: fn.functionArn,
    ...options.environment,
    // The template's own variables last: they are what the deployed function gets.
    ...fn.environment,
  };

  const start = (): Container => {
    coldStarts += 1;
    // Only this environment: nothing of the test process (DATABASE_URL, TMPDIR, the project's paths) leaks in.
    const child = spawn(options.node, [path.join(options.sandbox.runtimeDir, 'shim.mjs')], {
      cwd: taskRoot,
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const container: Container = { child, ready: Promise.resolve() };
    child.stdout?.on('data', (chunk) => (log += chunk));
    child.stderr?.on('data', (chunk) => (log += chunk));
    container.ready = new Promise<void>((resolve, reject) => {
      child.once('message', (message: { ready?: boolean; node?: string; error?: { errorType: string; errorMessage: string } }) => {
        if (message.node) nodeVersions.add(message.node);
        if (message.ready) resolve();
        else reject(Object.assign(new Error(message.error?.errorMessage), { errorType: message.error?.errorType }));
      });
      child.once('exit', (code) =>
        reject(Object.assign(new Error(`${fn.functionName} exited with ${code} at init`), { errorType: 'Runtime.ExitError' })),
      );
    });
    child.on(
      'message',
      (message: {
        id?: string;
        result?: unknown;
        error?: { errorType: string; errorMessage: string };
        fatal?: { errorType: string; errorMessage: string };
      }) => {
        const pending = container.pending;
        if (!pending) return;
        if (message.fatal) return pending.settle({ ok: false, ...message.fatal });
        if (message.id !== pending.id) return;
        pending.settle(message.error ? { ok: false, ...message.error } : { ok: true, result: message.result });
      },
    );
    child.on('exit', (code, signal) => {
      all.delete(container);
      const at = idle.indexOf(container);
      if (at !== -1) idle.splice(at, 1);
      container.pending?.settle({ ok: false, errorType: 'Runtime.ExitError', errorMessage: `RequestId: exited with ${code ?? signal}` });
    });
    all.add(container);
    return container;
  };

  const invoke = async (event: unknown): Promise<InvokeOutcome> => {
    const container = idle.pop() ?? start();
    try {
      await container.ready;
    } catch (error) {
      container.child.kill();
      return { ok: false, errorType: (error as { errorType: string }).errorType, errorMessage: (error as Error).message };
    }
    const id = randomUUID();
    const outcome = await new Promise<InvokeOutcome>((resolve) => {
      // Lambda ends an invocation at its timeout and reports Sandbox.Timedout; the container is gone with it.
      const timer = setTimeout(() => {
        settle({ ok: false, errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${fn.timeoutSeconds}.00 seconds` });
        container.child.kill('SIGKILL');
      }, fn.timeoutSeconds * 1000);
      const settle = (value: InvokeOutcome) => {
        clearTimeout(timer);
        container.pending = undefined;
        resolve(value);
      };
      container.pending = { id, settle };
      container.child.send({
        id,
        event: JSON.parse(JSON.stringify(event ?? null)),
        deadlineMs: Date.now() + fn.timeoutSeconds * 1000,
        requestId: id,
      });
    });
    invocations += 1;
    if (all.has(container)) idle.push(container);
    return outcome;
  };

  return {
    fn,
    invoke,
    get invocations() {
      return invocations;
    },
    get coldStarts() {
      return coldStarts;
    },
    nodeVersions,
    logs: () => log,
    async close() {
      await Promise.all(
        [...all].map(
          (container) =>
            new Promise<void>((resolve) => {
              if (container.child.exitCode !== null || container.child.signalCode !== null) return resolve();
              container.child.once('exit', () => resolve());
              container.child.kill();
            }),
        ),
      );
    },
  };
}
