/** P-256 group order: (r, n − s) is a second valid ECDSA signature of the same token. */
const P256_N = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

/** The same ES256 token with its other valid signature: a different string that still verifies (RFC 8725 §3.1 attack cases). */
export function malleate(token: string): string {
  const [h, p, sig] = token.split(".") as [string, string, string];
  const bytes = Buffer.from(sig, "base64url");
  const s = BigInt(`0x${bytes.subarray(32).toString("hex")}`);
  const flipped = Buffer.from((P256_N - s).toString(16).padStart(64, "0"), "hex");
  return `${h}.${p}.${Buffer.concat([bytes.subarray(0, 32), flipped]).toString("base64url")}`;
}
