import type { Config } from '../config/load-config';
import { DATABASE_PARTS, type DatabasePart } from '../config/settings';
import type { SecretResolver } from '../secrets/resolve';
import type { DatabaseSecret, PasswordSource, TransactionTimeouts } from './client';

/** A part's transaction timeouts: DATABASE_STATEMENT_TIMEOUT_MS and DATABASE_LOCK_TIMEOUT_MS when set, else the part's own. */
export function partTimeouts(
  config: Pick<Config, 'databaseStatementTimeoutMs' | 'databaseLockTimeoutMs'>,
  part: DatabasePart,
): TransactionTimeouts {
  return {
    statementTimeoutMs: config.databaseStatementTimeoutMs ?? DATABASE_PARTS[part].statementTimeoutMs,
    lockTimeoutMs: config.databaseLockTimeoutMs ?? DATABASE_PARTS[part].lockTimeoutMs,
  };
}

export const REAUTHENTICATED_MESSAGE = 're-authenticated with a fresh database secret';

/** Connections refused together (a pool after a rotation) share one fresh read of the secret. */
const REFRESH_SHARED_MS = 5_000;

/**
 * The password of the database secret as a connection opens: the resolver's cached copy,
 * dropped when the server refuses it (28P01), so the retry reads the rotated one. The
 * re-authentication is logged once for each fresh read; the log says nothing of the secret.
 */
export function secretPassword(
  secrets: SecretResolver,
  reference: string,
  log: (message: string) => void,
  now: () => number = Date.now,
): PasswordSource {
  let refreshedAt = Number.NEGATIVE_INFINITY;
  let announced = true;
  return {
    read: async () => (await secrets.resolveJson<DatabaseSecret>(reference, 'database credentials')).password,
    refresh() {
      if (now() - refreshedAt < REFRESH_SHARED_MS) return;
      refreshedAt = now();
      announced = false;
      secrets.forget(reference);
    },
    refreshed() {
      if (announced) return;
      announced = true;
      log(REAUTHENTICATED_MESSAGE);
    },
  };
}
