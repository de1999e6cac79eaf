import { createHash, timingSafeEqual } from "node:crypto";

/** SHA-256 of a UTF-8 string. */
export function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Compares two secrets in constant time. Both sides are hashed first so that
 * the comparison runs on fixed-length digests and leaks neither content nor length.
 */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** Compares a secret against a stored SHA-256 digest in constant time. */
export function secretMatchesDigest(secret: string, digest: Buffer): boolean {
  return digest.length === 32 && timingSafeEqual(sha256(secret), digest);
}
