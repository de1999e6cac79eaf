import { createHash, timingSafeEqual } from "node:crypto";

/** SHA-256 of a UTF-8 string. */
export function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** Compares a secret against a stored SHA-256 digest in constant time. */
export function secretMatchesDigest(secret: string, digest: Buffer): boolean {
  return digest.length === 32 && timingSafeEqual(sha256(secret), digest);
}
