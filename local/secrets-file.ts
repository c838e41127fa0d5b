import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The git-ignored local secrets file (`.sender-sync/secrets.json` by default): a JSON
 * object of field → secret, read through `file:<field>` references. Written with mode
 * 0600, atomically, merging with what is there.
 */
export async function readLocalSecrets(file: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`The local secrets file ${file} is not valid JSON; fix or delete it.`);
  }
}

export async function writeLocalSecrets(file: string, entries: Record<string, string>): Promise<void> {
  const merged = { ...(await readLocalSecrets(file)), ...entries };
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(merged, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}
