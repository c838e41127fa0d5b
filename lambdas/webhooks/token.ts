import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * EmailBison does not sign deliveries (../shared/DESIGN.md): the receiver's only proof that
 * a POST comes from a subscription sender-sync made is a random token in its path. It is
 * compared through SHA-256 digests with timingSafeEqual, so neither the time taken nor a
 * length mismatch tells a caller how much of a guess was right.
 */

/** 32 random bytes, URL-safe: what the stack's secret and the local file hold. */
export function newWebhookToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function tokenMatches(candidate: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(tokenDigest(candidate), expectedDigest);
}

/** The delivery key of a body: deliveries carry no event id, so the body's SHA-256 names it. */
export function deliveryKey(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** A receiver URL with its token replaced, fit for a terminal, a log or a table. */
export function maskWebhookUrl(url: string): string {
  return url.replace(/(\/emailbison\/)[^/?#]+/, '$1***');
}
