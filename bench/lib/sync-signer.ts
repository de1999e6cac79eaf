// The floors' synchronous signer: an ES256 at+jwt with node:crypto's sign on a
// KeyObject, the header encoded once. Written here, not taken from src/, so
// that the floors measure what the least code can do.
import { generateKeyPairSync, sign } from "node:crypto";

export interface SyncSigner {
  /** The public key as a JWKS document. */
  readonly jwks: string;
  sign(claims: Record<string, unknown>): string;
}

export function syncEs256Signer(kid: string): SyncSigner {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const header = Buffer.from(JSON.stringify({ alg: "ES256", kid, typ: "at+jwt" })).toString("base64url");
  const key = { key: privateKey, dsaEncoding: "ieee-p1363" as const };
  return {
    jwks: JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" }] }),
    sign(claims) {
      const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
      return `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`;
    },
  };
}
