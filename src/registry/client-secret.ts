import { sha256 } from "../internal/constant-time.js";
import { randomToken } from "../internal/random.js";

/**
 * The stored form of a client secret: `sha256:<base64url digest>`.
 *
 * @example
 * ```ts
 * import { generateClientSecret, hashClientSecret } from "tessera/server";
 *
 * const secret = generateClientSecret(); // give this to the client
 * const entry = hashClientSecret(secret); // put this in clients[].secretHashes: "sha256:…"
 * ```
 */
export function hashClientSecret(secret: string): string {
  return `sha256:${sha256(secret).toString("base64url")}`;
}

/**
 * A new server-generated client secret: 256 bits of entropy.
 *
 * @example
 * ```ts
 * import { generateClientSecret } from "tessera/server";
 *
 * const secret = generateClientSecret(); // 43 base64url characters
 * ```
 */
export function generateClientSecret(): string {
  return randomToken(32);
}
