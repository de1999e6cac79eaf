/** Strict base64url (RFC 4648 §5) for JWS parts: one encoding per byte string. */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** The 6-bit value of a base64url character code (caller checked the alphabet). */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26..51
  if (code >= 65) return code === 95 ? 63 : code - 65; // A-Z: 0..25, "_": 63
  if (code === 45) return 62; // "-"
  return code + 4; // 0-9: 52..61
}

/**
 * Decodes base64url text only in its canonical form (RFC 7515 §2): no
 * padding, no whitespace or other characters, no length that cannot be
 * base64, and zero unused bits in the last character. Buffer.from alone
 * would skip stray characters and ignore those bits, giving one byte string
 * many encodings. Returns undefined for anything else.
 */
export function decodeBase64url(text: string): Buffer | undefined {
  const rest = text.length % 4;
  if (rest === 1 || !ALPHABET.test(text)) return undefined;
  if (rest !== 0 && (sextet(text.charCodeAt(text.length - 1)) & (rest === 2 ? 0x0f : 0x03)) !== 0) return undefined;
  return Buffer.from(text, "base64url");
}

/** Encodes bytes (or a string as UTF-8) as base64url without padding. */
export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString("base64url");
}
