import { generateClientSecret, hashClientSecret } from "../config/dev-mode.js";

/** `tessera secret`: a new client secret (256 bits) and the hash to put in the configuration. */
export function secret(): void {
  const value = generateClientSecret();
  process.stdout.write(`client_secret=${value}\nsecretHashes entry: ${hashClientSecret(value)}\n`);
}
