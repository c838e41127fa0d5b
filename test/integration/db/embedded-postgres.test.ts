import path from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../../local/embedded-postgres';
import { tempDir } from '../../helpers/cleanup';

/*
 * As root the embedded server runs as the `postgres` user, which cannot enter a private
 * directory (a clone under /root or in `mktemp -d`, mode 0700). It must start anyway.
 */
const root = process.getuid?.() === 0;
const privateDir = tempDir('sender-sync-private-');

describe('the embedded Postgres', () => {
  it.skipIf(!root)(
    'starts for a data directory the postgres user cannot reach (as root), from a staged copy',
    async () => {
      const requested = path.join(privateDir, '.sender-sync', 'postgres');
      const server = await startEmbeddedPostgres({ dataDir: requested, persistent: false });
      try {
        expect(server.dataDir).not.toBe(requested);
        expect(server.dataDir.startsWith(privateDir)).toBe(false);
        const sql = postgres(server.url, { max: 1, onnotice: () => {} });
        expect(await sql`select current_user as user, 1 + 1 as two`).toEqual([{ user: 'postgres', two: 2 }]);
        await sql.end();
      } finally {
        await server.stop();
      }
    },
    60_000,
  );
});
