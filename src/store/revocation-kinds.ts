/**
 * The three kinds of revocation that travel as RevocationEvents, keyed by
 * (issuer, jti) in every store and deny set. Tessera's own jtis are base64url
 * and never contain ':', so the prefixed forms cannot collide with a token's.
 */
import type { RevocationEvent } from "./types.js";

/** The jti under which a whole signing key is revoked (emergency key revocation). */
export function keyRevocationJti(kid: string): string {
  return `kid:${kid}`;
}

/** The jti under which a client's tokens issued before a time are revoked (a client-wide cut-off). */
export function clientRevocationJti(clientId: string): string {
  return `client:${clientId}`;
}

/** What a RevocationEvent revokes. */
export type RevocationKind =
  | { readonly kind: "token"; readonly issuer: string; readonly jti: string; readonly expiresAt: number }
  | { readonly kind: "key"; readonly issuer: string; readonly kid: string; readonly expiresAt: number }
  | { readonly kind: "client"; readonly issuer: string; readonly clientId: string; readonly issuedBefore: number; readonly expiresAt: number };

/** Reads an event's kind from its jti (and issuedBefore for a client cut-off). */
export function revocationKind(event: RevocationEvent): RevocationKind {
  const { issuer, jti, expiresAt } = event;
  if (event.issuedBefore !== undefined && jti.startsWith("client:")) {
    return { kind: "client", issuer, clientId: jti.slice("client:".length), issuedBefore: event.issuedBefore, expiresAt };
  }
  if (jti.startsWith("kid:")) return { kind: "key", issuer, kid: jti.slice("kid:".length), expiresAt };
  return { kind: "token", issuer, jti, expiresAt };
}

/** The event of a client-wide cut-off. */
export function clientRevocationEvent(issuer: string, clientId: string, issuedBefore: number, expiresAt: number): RevocationEvent {
  return Object.freeze({ issuer, jti: clientRevocationJti(clientId), expiresAt, issuedBefore });
}

/**
 * A client cut-off merged into the one already held for the same client: the later time and the
 * later end of each, or undefined when the held one already covers the new one (nothing to push).
 */
export function mergeClientRevocation(held: RevocationEvent | undefined, next: RevocationEvent): RevocationEvent | undefined {
  if (held?.issuedBefore === undefined) return next;
  const issuedBefore = Math.max(held.issuedBefore, next.issuedBefore ?? 0);
  const expiresAt = Math.max(held.expiresAt, next.expiresAt);
  if (issuedBefore === held.issuedBefore && expiresAt === held.expiresAt) return undefined;
  return Object.freeze({ issuer: next.issuer, jti: next.jti, expiresAt, issuedBefore });
}
