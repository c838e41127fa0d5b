import { NotConfiguredError } from '../errors';

/*
 * What the stack writes into a database secret it creates (infra/secrets.ts), and how a
 * Lambda recognises it: a deploy that nobody has configured yet. One home for both, so
 * the stack and the Lambdas cannot disagree on the marker.
 */

/** The value of every field the operator must fill in. */
export const DATABASE_SECRET_PLACEHOLDER = 'REPLACE_ME';

/** The database secret a created stack starts with; the password is generated beside it. */
export const PLACEHOLDER_DATABASE_SECRET = {
  host: DATABASE_SECRET_PLACEHOLDER,
  port: 5432,
  username: DATABASE_SECRET_PLACEHOLDER,
  dbname: 'postgres',
} as const;

/** Any field still holding the placeholder means the secret was never filled in. */
export function isPlaceholderDatabaseSecret(secret: unknown): boolean {
  if (!secret || typeof secret !== 'object') return false;
  return Object.values(secret).some((value) => value === DATABASE_SECRET_PLACEHOLDER);
}

/** Thrown before any connection is tried: the run ends at once instead of failing on `getaddrinfo ENOTFOUND REPLACE_ME`. */
export function notConfigured(secretArn: string): NotConfiguredError {
  return new NotConfiguredError(
    `The database secret ${secretArn} still holds the placeholder the stack created (${DATABASE_SECRET_PLACEHOLDER}): ` +
      'sender-sync is deployed but not configured. Fill in host, port, username, password and dbname (see the README, "Deploy"), then deploy again to apply the migrations.',
  );
}
