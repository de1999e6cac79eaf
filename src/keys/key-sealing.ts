import { readFileSync } from "node:fs";
import { osReason } from "../internal/os-reason.js";
import { compactDecrypt, CompactEncrypt, type JWK } from "jose";

/** The key-encryption key that seals private keys at rest: 32 bytes for A256GCM. */
export interface KeyEncryptionKey {
  readonly id: string;
  readonly key: Uint8Array;
}

/** The key-encryption key could not be loaded, or does not open the stored keys. */
export class KeyEncryptionError extends Error {
  readonly code = "ERR_KEY_ENCRYPTION";
  constructor(message: string) {
    super(message);
    this.name = "KeyEncryptionError";
  }
}

/** Reads the KEK from TESSERA_KEK (base64url, 32 bytes) or the file named by TESSERA_KEK_FILE. */
export function kekFromEnv(env: NodeJS.ProcessEnv): KeyEncryptionKey | undefined {
  let text = env.TESSERA_KEK;
  if (!text && env.TESSERA_KEK_FILE) {
    try {
      text = readFileSync(env.TESSERA_KEK_FILE, "utf8").trim();
    } catch (err) {
      throw new KeyEncryptionError(`cannot read the key-encryption key file ${env.TESSERA_KEK_FILE}${osReason(err)}`);
    }
  }
  if (!text) return undefined;
  const key = Buffer.from(text, "base64url");
  if (key.length !== 32) throw new KeyEncryptionError("the key-encryption key must be 32 bytes, base64url-encoded (tessera keys kek)");
  return { id: `kek-${Buffer.from(key.subarray(0, 6)).toString("base64url")}`, key };
}

/** Seals a private JWK under the KEK (JWE compact, dir + A256GCM). */
export async function sealPrivateJwk(jwk: JWK, kek: KeyEncryptionKey): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(jwk))).setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: kek.id }).encrypt(kek.key);
}

/** Opens a sealed private JWK; a wrong KEK is a KeyEncryptionError that reveals nothing of the key. */
export async function unsealPrivateJwk(sealed: string, kek: KeyEncryptionKey): Promise<JWK> {
  try {
    const { plaintext } = await compactDecrypt(sealed, kek.key, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
    return JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
  } catch {
    throw new KeyEncryptionError("the key-encryption key does not open the stored signing keys (wrong TESSERA_KEK?)");
  }
}
