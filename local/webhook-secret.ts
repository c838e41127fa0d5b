import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../lambdas/errors';
import { newWebhookSecret } from '../lambdas/webhooks/token';

/*
 * The local webhook master secret (`webhooks serve`, `webhooks url` without
 * WEBHOOK_SECRET_ARN): a file of its own beside the local secrets file, never a field of
 * it. The secrets file is a map of names to API keys that `workspaces add|import` merge
 * into, so any field there can be overwritten by a workspace of that name (issue 19: one
 * named `webhook-token` replaced the token). Nothing writes this file but
 * ensureLocalWebhookSecret, and only when it does not exist: created in a temporary file,
 * then linked into place (link fails if the name exists), so two processes starting at
 * once keep one secret, and a reader never sees half of one.
 */
export const LOCAL_WEBHOOK_SECRET_FILE = 'webhook-secret';

/** Where the local master secret lives: beside the local secrets file, as its own file. */
export function localWebhookSecretFile(secretsFile: string): string {
  return path.join(path.dirname(secretsFile), LOCAL_WEBHOOK_SECRET_FILE);
}

export async function readLocalWebhookSecret(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const secret = text.trim();
  if (!/^[A-Za-z0-9_-]{32,}$/.test(secret)) {
    throw new InvalidInputError(`The local webhook secret ${file} is not a secret of 32 or more URL-safe characters; fix or delete it.`);
  }
  return secret;
}

/** The local master secret, created on first use; `created` says whether this call made it. */
export async function ensureLocalWebhookSecret(file: string): Promise<{ secret: string; created: boolean }> {
  const existing = await readLocalWebhookSecret(file);
  if (existing) return { secret: existing, created: false };
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const secret = newWebhookSecret();
  try {
    await writeFile(temporary, `${secret}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await link(temporary, file);
    return { secret, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { secret: (await readLocalWebhookSecret(file))!, created: false };
  } finally {
    await unlink(temporary).catch(() => {});
  }
}
