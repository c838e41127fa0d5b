import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * EmailBison does not sign deliveries (../shared/DESIGN.md): the receiver's only proof that
 * a POST comes from a subscription sender-sync made is a secret in its path. Each
 * workspace's URL carries its own token, an HMAC of the deployment's master secret and the
 * workspace it is for, so a client who can read their own workspace's subscription in
 * EmailBison learns nothing that opens another workspace's path:
 *
 *   <base>/emailbison/<workspace id>/<EmailBison workspace id>/<token>
 *   token = base64url(HMAC-SHA256(master secret, "workspace:<id>:emailbison:<EmailBison id>"))
 *
 * The EmailBison workspace id is in the path, and under the HMAC, so the receiver can refuse
 * another workspace's event (409) without asking Postgres. A token is compared through
 * SHA-256 digests with timingSafeEqual, so neither the time taken nor a length mismatch
 * tells a caller how much of a guess was right.
 */

/** 32 random bytes, URL-safe: what the stack's webhook secret and the local file hold. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Which workspace a delivery URL is for. */
export interface DeliveryTarget {
  /** sender-sync's workspaces.id. */
  workspaceId: number;
  /** The EmailBison workspace its key reads (workspaces.emailbison_workspace_id) when the URL was made. */
  emailbisonWorkspaceId: number;
}

export function workspaceToken(masterSecret: string, target: DeliveryTarget): string {
  return createHmac('sha256', masterSecret)
    .update(`workspace:${target.workspaceId}:emailbison:${target.emailbisonWorkspaceId}`, 'utf8')
    .digest('base64url');
}

/** The path part of a workspace's delivery URL, token included. */
export function deliveryPath(masterSecret: string, target: DeliveryTarget): string {
  return `/emailbison/${target.workspaceId}/${target.emailbisonWorkspaceId}/${workspaceToken(masterSecret, target)}`;
}

/** A workspace's delivery URL: the receiver's base (no path) and deliveryPath. */
export function deliveryUrl(base: string, masterSecret: string, target: DeliveryTarget): string {
  return `${base.replace(/\/+$/, '')}${deliveryPath(masterSecret, target)}`;
}

/** Constant time in the candidate: equal-length SHA-256 digests, whatever its length. */
export function workspaceTokenMatches(masterSecret: string, target: DeliveryTarget, candidate: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(candidate), digest(workspaceToken(masterSecret, target)));
}

/** The delivery key of a body: deliveries carry no event id, so the body's SHA-256 names it. */
export function deliveryKey(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** A receiver URL with its token replaced, fit for a terminal, a log or a table. */
export function maskWebhookUrl(url: string): string {
  return url.replace(/(\/emailbison\/\d+\/\d+\/)[^/?#]+/, '$1***').replace(/(\/emailbison\/)(?!\d+\/\d+\/)[^/?#]+/, '$1***');
}
