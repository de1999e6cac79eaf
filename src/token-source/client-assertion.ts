import { randomUUID } from "node:crypto";
import { SignJWT, type CryptoKey, type KeyObject } from "jose";

/** How the client authenticates to the token endpoint. */
export type ClientAuthentication =
  | { method: "client_secret_basic"; secret: string }
  | { method: "client_secret_post"; secret: string }
  /** RFC 7523: an assertion signed with the client's private key (no shared secret). */
  | { method: "private_key_jwt"; key: CryptoKey | KeyObject; alg: string; kid?: string }
  /** RFC 7523: an assertion signed with the client secret (HS256). */
  | { method: "client_secret_jwt"; secret: string }
  /**
   * A workload token of a trusted issuer (Kubernetes projected service-account
   * token, SPIFFE JWT-SVID) as the client assertion: no secret. `token` is
   * called for every request, so that a rotated token is picked up (read the
   * projected file or ask the Workload API there).
   */
  | { method: "workload_identity"; token: () => string | Promise<string> };

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

/**
 * What one request carries to authenticate the client (RFC 6749 section 2.3,
 * RFC 7523 section 2.2), whatever the transport: a Basic header, the id and
 * secret as parameters, or an assertion (signed now, or the workload's token).
 */
export type ClientAuthenticationParts =
  | { readonly kind: "basic"; readonly authorization: string }
  | { readonly kind: "post"; readonly clientId: string; readonly clientSecret: string }
  | { readonly kind: "assertion"; readonly clientId: string; readonly clientAssertion: string };

/** The parts of one request's client authentication; `audience` is the issuer a signed assertion is for. */
export async function clientAuthenticationParts(clientId: string, audience: string, auth: ClientAuthentication): Promise<ClientAuthenticationParts> {
  switch (auth.method) {
    case "client_secret_basic":
      return { kind: "basic", authorization: basicClientAuthorization(clientId, auth.secret) };
    case "client_secret_post":
      return { kind: "post", clientId, clientSecret: auth.secret };
    case "private_key_jwt":
      return { kind: "assertion", clientId, clientAssertion: await signClientAssertion(clientId, audience, auth.key, auth.alg, auth.kid) };
    case "client_secret_jwt":
      return { kind: "assertion", clientId, clientAssertion: await signClientAssertion(clientId, audience, new TextEncoder().encode(auth.secret), "HS256") };
    case "workload_identity":
      return { kind: "assertion", clientId, clientAssertion: (await auth.token()).trim() };
  }
}
