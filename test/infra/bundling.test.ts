import type { CfnElement } from 'aws-cdk-lib';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, PROJECT_ROOT } from '../../infra/build-app';
import { TASK_NAMES } from '../../lambdas/tasks';

/*
 * The one synthesis with real bundling (local esbuild, no Docker) and CDK's own
 * CloudFormation validation, as `npm run synth` does. The template tests skip both.
 */

let outdir: string;
let assets: Map<string, string>;

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'sender-sync-bundle-'));
  const { app, stack } = buildApp({
    outdir,
    // Asset metadata (the bundle's directory per function) is what the CLI turns on too.
    context: {
      'aws:cdk:enable-asset-metadata': true,
      'sender-sync:databaseSecretArn': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sender-sync/database-AbCdEf',
    },
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template;
  assets = new Map();
  for (const [name, fn] of Object.entries({
    ...stack.functions.tasks,
    migrate: stack.functions.migrate,
  })) {
    const id = stack.resolve((fn.node.defaultChild as CfnElement).logicalId);
    const assetPath = template.Resources[id].Metadata['aws:asset:path'];
    assets.set(name, path.join(outdir, assetPath));
  }
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('bundling', () => {
  it('bundles each handler into one ESM file with its source map', () => {
    expect(assets.size).toBe(5);
    for (const [name, dir] of assets) {
      expect(
        readdirSync(dir)
          .filter((file) => file.startsWith('index'))
          .sort(),
        name,
      ).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire as __senderSyncCreateRequire } from 'node:module';"), name).toBe(true);
      execFileSync(process.execPath, ['--check', path.join(dir, 'index.mjs')]);
    }
  });

  it('keeps class names through minification, so error names survive', () => {
    const code = readFileSync(path.join(assets.get('syncWorkspace')!, 'index.mjs'), 'utf8');
    for (const name of ['RejectedApiKeyError', 'EmailBisonUnavailableError', 'MalformedPageError']) {
      // esbuild's keepNames wraps each class as __name(Class, "Name").
      expect(code, name).toMatch(new RegExp(`\\(\\w+,"${name}"\\)`));
    }
  });

  it("keeps the sync bundle under 600 KB (undici's Pool without its fetch and WebSocket, zod without its locales)", () => {
    const bytes = statSync(path.join(assets.get('syncWorkspace')!, 'index.mjs')).size;
    expect(bytes).toBeLessThan(600 * 1024);
    const code = readFileSync(path.join(assets.get('syncWorkspace')!, 'index.mjs'), 'utf8');
    // zod's German locale: bundled whenever its `z` namespace object is.
    expect(code.includes('Ungültige Eingabe')).toBe(false);
  });

  it('leaves the AWS SDK to the runtime', () => {
    const code = readFileSync(path.join(assets.get('syncWorkspace')!, 'index.mjs'), 'utf8');
    expect(code).toMatch(/from"@aws-sdk\/client-secrets-manager"/);
  });

  it('ships migrations/*.sql inside the migrate bundle', () => {
    const bundled = path.join(assets.get('migrate')!, 'migrations');
    const sources = readdirSync(path.join(PROJECT_ROOT, 'migrations'))
      .filter((file) => file.endsWith('.sql'))
      .sort();
    expect(sources.length).toBeGreaterThan(0);
    expect(readdirSync(bundled).sort()).toEqual(sources);
    for (const file of sources) {
      expect(readFileSync(path.join(bundled, file), 'utf8')).toBe(readFileSync(path.join(PROJECT_ROOT, 'migrations', file), 'utf8'));
    }
    for (const name of TASK_NAMES) {
      expect(existsSync(path.join(assets.get(name)!, 'migrations')), name).toBe(false);
    }
  });
});
