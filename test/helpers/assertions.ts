import { SignJWT, type CryptoKey } from "jose";
import { randomUUID } from "node:crypto";
import { CLIENT_ASSERTION_TYPE } from "../../src/issuer/client-authentication/authenticate-client.js";

export { CLIENT_ASSERTION_TYPE };

export interface AssertionOptions {
  clientId: string;
  audience: string | string[];
  key: CryptoKey | Uint8Array;
  alg: string;
  /** Epoch seconds of "now" for iat/exp. */
  now: number;
  lifetime?: number;
  jti?: string | null;
  iss?: string;
  sub?: string;
  kid?: string;
  omitExp?: boolean;
  /** iat, when it is not `now`; null leaves it out. */
  iat?: number | null;
}

/** Signs an RFC 7523 client assertion; every claim can be bent for negative tests. */
export async function clientAssertion(o: AssertionOptions): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: o.alg, ...(o.kid ? { kid: o.kid } : {}) })
    .setIssuer(o.iss ?? o.clientId)
    .setSubject(o.sub ?? o.clientId)
    .setAudience(o.audience);
  if (o.iat !== null) jwt.setIssuedAt(o.iat ?? o.now);
  if (!o.omitExp) jwt.setExpirationTime(o.now + (o.lifetime ?? 60));
  if (o.jti !== null) jwt.setJti(o.jti ?? randomUUID());
  return jwt.sign(o.key);
}
