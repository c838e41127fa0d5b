import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate, readMigrations } from '../../../lambdas/db/migrate';
import { createEmptyDatabase } from '../../helpers/database';

/*
 * Migration 008 makes workspace names unique regardless of case. A database whose rows
 * already collide is not migrated half-way: it stops, naming the rows, and applies once
 * one of them is renamed.
 */
describe('migration 008 (workspace names unique regardless of case)', () => {
  it('names the rows that differ only in case, and applies once one is renamed', async () => {
    const db = await createEmptyDatabase();
    const migrations = await readMigrations(MIGRATIONS_DIR);
    await migrate(
      db.sql,
      migrations.filter((m) => m.version < 8),
    );
    await db.sql`
      insert into workspaces (name, base_url, api_key_ref)
      values ('Big Binyon', 'https://a.example', 'env:A'), ('BIG BINYON', 'https://a.example', 'env:B'), ('Other', 'https://a.example', 'env:C')
    `;
    await expect(migrate(db.sql, migrations)).rejects.toThrow(
      `workspace names differ only in case: 'BIG BINYON' and 'Big Binyon'; rename one of each before migrating`,
    );
    await db.sql`update workspaces set name = 'Big Binyon (old)' where name = 'BIG BINYON'`;
    const result = await migrate(db.sql, migrations);
    expect(result.applied).toContain('008_workspace_names.sql');
    await expect(
      db.sql`insert into workspaces (name, base_url, api_key_ref) values ('other', 'https://a.example', 'env:D')`,
    ).rejects.toMatchObject({ constraint_name: 'workspaces_name_lower_idx' });
  });
});
