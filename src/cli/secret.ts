import { Command } from "commander";
import { generateClientSecret, hashClientSecret } from "../registry/client-secret.js";
import { UsageError } from "./exit-codes.js";
import { readSecret } from "./read-secret.js";

/** Length of a generated secret (32 random bytes, base64url): shorter ones hold less than 256 bits. */
const GENERATED_LENGTH = 43;

/** `tessera secret [--hash]`: the command's definition. */
export function secretCommand(): Command {
  return new Command("secret")
    .description("generate a client secret (256 bits) and its secretHashes entry; --hash: hash an existing secret read from stdin")
    .option("--hash", "read an existing secret from stdin (never echoed) and print only its secretHashes entry")
    .action(async (options: { hash?: true }) => {
      if (options.hash) await hashExistingSecret();
      else newSecret();
    });
}

/** A new client secret and the hash to put in the configuration. */
function newSecret(): void {
  const value = generateClientSecret();
  process.stdout.write(`client_secret=${value}\nsecretHashes entry: ${hashClientSecret(value)}\n`);
}

/** The secretHashes entry of a secret that exists already (e.g. moved from another system). */
async function hashExistingSecret(): Promise<void> {
  const value = await readSecret(process.stdin, process.stderr);
  if (value === "") throw new UsageError("secret --hash read an empty secret from stdin");
  if (/[\r\n]/.test(value)) throw new UsageError("secret --hash reads one secret: stdin holds more than one line");
  if (value.length < GENERATED_LENGTH) {
    process.stderr.write(
      `warning: this secret is shorter than a generated one (${GENERATED_LENGTH} characters, 256 bits). Its hash is an unsalted SHA-256, ` +
        "safe at rest only for high-entropy secrets: prefer `tessera secret`.\n",
    );
  }
  process.stdout.write(`${hashClientSecret(value)}\n`);
}
