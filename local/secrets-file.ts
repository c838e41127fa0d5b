import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../lambdas/errors';
import { LOCAL_WEBHOOK_SECRET_FILE } from './webhook-secret';

/**
 * The git-ignored local secrets file (`.sender-sync/secrets.json` by default): a JSON
 * object of field → secret, read through `file:<field>` references. Written with mode
 * 0600, atomically (a temporary file in the same folder, then a rename), merging with
 * what is there.
 */
export async function readLocalSecrets(file: string): Promise<Record<string, string>> {
  return parseSecrets(file, await readPrevious(file));
}

function parseSecrets(file: string, content: Buffer | null): Record<string, string> {
  if (content === null) return {};
  try {
    const parsed: unknown = JSON.parse(content.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, string>;
  } catch {}
  throw new Error(`The local secrets file ${file} is not a JSON object; fix or delete it.`);
}

/** Puts the previous content back, byte for byte (or removes the file if there was none). */
export type RestoreLocalSecrets = () => Promise<void>;

/** Merges entries into the file; returns how to undo exactly this write. */
export async function writeLocalSecrets(file: string, entries: Record<string, string>): Promise<RestoreLocalSecrets> {
  // The webhook master secret is a file of its own (local/webhook-secret.ts): a map of keys never lands on it.
  if (path.basename(file) === LOCAL_WEBHOOK_SECRET_FILE) {
    throw new InvalidInputError(`${file} is the local webhook secret, not a secrets file: set SENDER_SYNC_SECRETS_FILE to another file.`);
  }
  const previous = await readPrevious(file);
  const merged = { ...parseSecrets(file, previous), ...entries };
  await mkdir(path.dirname(file), { recursive: true });
  await replaceFile(file, `${JSON.stringify(merged, null, 2)}\n`);
  return async () => {
    if (previous === null) await unlink(file).catch(ignoreMissing);
    else await replaceFile(file, previous);
  };
}

async function readPrevious(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A reader sees the old file or the new one, never half of either. */
async function replaceFile(file: string, content: string | Buffer): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, content, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(ignoreMissing);
    throw error;
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
