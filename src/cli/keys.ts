import { randomBytes } from "node:crypto";
import { exportPKCS8 } from "jose";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "../config/types.js";
import { generateSigningKey } from "../keys/signing-key.js";

const USAGE = `usage: tessera keys <command>

commands:
  generate [--alg ES256|EdDSA|RS256]   print a new private signing key (PKCS#8 PEM) for signing.keyFile
  kek                                 print a new key-encryption key for TESSERA_KEK
`;

/** `tessera keys ...`: key material for the configuration. */
export async function keys(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "generate": {
      let alg: SigningAlgorithm = "ES256";
      for (let i = 0; i < rest.length; i++) {
        const arg = rest[i]!;
        const value = arg === "--alg" ? rest[++i] : arg.startsWith("--alg=") ? arg.slice(6) : undefined;
        if (value === undefined) throw new Error(`unknown argument to keys generate: ${arg}`);
        if (!(SIGNING_ALGORITHMS as readonly string[]).includes(value)) throw new Error(`--alg must be one of ${SIGNING_ALGORITHMS.join(", ")}`);
        alg = value as SigningAlgorithm;
      }
      const key = await generateSigningKey(alg);
      process.stderr.write(`kid: ${key.kid} (${alg}); keep this file private, then set signing.keyFile and signing.algorithm\n`);
      process.stdout.write(await exportPKCS8(key.privateKey));
      return 0;
    }
    case "kek":
      process.stdout.write(`${randomBytes(32).toString("base64url")}\n`);
      return 0;
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}
