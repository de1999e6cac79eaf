/**
 * The jti under which a whole signing key is revoked (emergency key
 * revocation): a verifier that learns (issuer, "kid:<kid>") from the
 * RevocationFeed rejects every token signed with that key. Tessera's own jtis
 * are base64url and never contain ':', so the two cannot collide.
 */
export function keyRevocationJti(kid: string): string {
  return `kid:${kid}`;
}
