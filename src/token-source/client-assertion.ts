import { randomUUID } from "node:crypto";
import { SignJWT, type CryptoKey, type KeyObject } from "jose";

/** The client_assertion_type of RFC 7523 section 2.2. */
export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/**
 * A fresh client assertion (RFC 7523): iss = sub = the client id, aud = the
 * issuer, a minute of life and a single-use jti; signed with the client's
 * private key (private_key_jwt) or its secret as an HMAC key (client_secret_jwt).
 */
export function signClientAssertion(clientId: string, audience: string, key: CryptoKey | KeyObject | Uint8Array, alg: string, kid?: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime("60s")
    .setJti(randomUUID())
    .sign(key);
}

/** An `authorization: Basic` value for client_secret_basic (RFC 6749 section 2.3.1: id and secret form-url-encoded first). */
export function basicClientAuthorization(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString("base64")}`;
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}
