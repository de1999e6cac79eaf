import { randomBytes } from "node:crypto";

/** A random identifier or secret with `bytes` bytes of entropy, base64url-encoded. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}
