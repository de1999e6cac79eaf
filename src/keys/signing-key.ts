import { readFileSync } from "node:fs";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JWK } from "jose";
import { osReason } from "../internal/os-reason.js";
import type { SigningAlgorithm } from "../config/types.js";

/** A private signing key with its public half as a JWK. */
export interface SigningKey {
  /** Key id: the RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public key as published in JWKS: kty, crv/x/y or n/e, plus kid, alg, use. */
  readonly publicJwk: Readonly<JWK>;
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] as const;

/** A copy of a JWK with every private member removed. */
export function publicMembers(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  delete copy.key_ops;
  delete copy.ext;
  return copy as JWK;
}

async function fromKeyPair(alg: SigningAlgorithm, privateKey: CryptoKey, publicKey: CryptoKey): Promise<SigningKey> {
  const exported = publicMembers(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(exported, "sha256");
  const publicJwk = Object.freeze({ ...exported, kid, alg, use: "sig" });
  return Object.freeze({ kid, alg, privateKey, publicKey, publicJwk });
}

/**
 * Generates a new signing key pair.
 *
 * @example
 * ```ts
 * import { MemoryKeyStore, generateSigningKey } from "tessera/server";
 *
 * const keys = new MemoryKeyStore([{ key: await generateSigningKey("ES256"), state: "active" }]);
 * ```
 */
export async function generateSigningKey(alg: SigningAlgorithm): Promise<SigningKey> {
  const options = alg === "EdDSA" ? { crv: "Ed25519", extractable: true } : { extractable: true };
  const { privateKey, publicKey } = await generateKeyPair(alg, options);
  return fromKeyPair(alg, privateKey, publicKey);
}

/**
 * Imports a private key from PEM (PKCS#8) or JWK text.
 *
 * @example
 * ```ts
 * import { importSigningKey } from "tessera/server";
 *
 * const key = await importSigningKey(process.env.SIGNING_KEY_PEM!, "ES256"); // PKCS#8 PEM or a private JWK
 * ```
 */
export async function importSigningKey(text: string, alg: SigningAlgorithm): Promise<SigningKey> {
  const trimmed = text.trim();
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  if (trimmed.startsWith("{")) {
    const jwk = JSON.parse(trimmed) as JWK;
    if (jwk.d === undefined) throw new Error("the key file holds no private key");
    privateKey = (await importJWK({ ...jwk, alg }, alg, { extractable: false })) as CryptoKey;
    publicJwk = publicMembers(jwk);
  } else {
    privateKey = await importPKCS8(trimmed, alg, { extractable: true });
    publicJwk = publicMembers(await exportJWK(privateKey));
  }
  const publicKey = (await importJWK({ ...publicJwk, alg }, alg)) as CryptoKey;
  return fromKeyPair(alg, privateKey, publicKey);
}

/**
 * Reads and imports a private key file. Errors name the file, never the key material.
 *
 * @example
 * ```ts
 * import { MemoryKeyStore, createTesseraServer, loadConfigFile, loadSigningKeyFile } from "tessera/server";
 *
 * const key = await loadSigningKeyFile("/run/secrets/tessera-signing.pem", "ES256");
 * await createTesseraServer({ config: loadConfigFile("tessera.yaml"), keys: new MemoryKeyStore([{ key, state: "active" }]) });
 * ```
 */
export async function loadSigningKeyFile(path: string, alg: SigningAlgorithm): Promise<SigningKey> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read signing key file ${path}${osReason(err)}`);
  }
  try {
    return await importSigningKey(text, alg);
  } catch {
    throw new Error(`signing key file ${path} does not hold a ${alg} private key (PKCS#8 PEM or JWK)`);
  }
}
