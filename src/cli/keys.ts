import { randomBytes } from "node:crypto";
import { Command, Option } from "commander";
import { exportPKCS8 } from "jose";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "../config/types.js";
import { generateSigningKey } from "../keys/signing-key.js";
import { configOption, requiredConfigPath } from "./config-option.js";
import type { KeyRingCommand } from "./key-ring-commands.js";

/** Loaded on use: the key-ring commands need Redis and the server's key manager, which the other commands do not. */
async function onKeyRing(command: KeyRingCommand, configPath: string, kid?: string): Promise<void> {
  return (await import("./key-ring-commands.js")).onKeyRing(command, configPath, kid);
}

/** `tessera keys ...`: the command's definition (key material, and the managed key ring). */
export function keysCommand(): Command {
  const keys = new Command("keys").description("signing keys: make key material; list, rotate or revoke the keys the servers sign with");
  keys
    .command("generate")
    .description("print a new private signing key (PKCS#8 PEM) for signing.keyFile")
    .addOption(new Option("--alg <alg>", "the signing algorithm").choices(SIGNING_ALGORITHMS).default("ES256"))
    .action(async (options: { alg: SigningAlgorithm }) => {
      const key = await generateSigningKey(options.alg);
      process.stderr.write(`kid: ${key.kid} (${options.alg}); keep this file private, then set signing.keyFile and signing.algorithm\n`);
      process.stdout.write(await exportPKCS8(key.privateKey));
    });
  keys
    .command("kek")
    .description("print a new key-encryption key for TESSERA_KEK")
    .action(() => {
      process.stdout.write(`${randomBytes(32).toString("base64url")}\n`);
    });
  keys
    .command("list")
    .description("the keys the servers sign with: the managed keys in Redis (kid, state, dates, next rotation), or the signing.keyFile key, read-only")
    .addOption(configOption())
    .action(async (_options: unknown, command: Command) => onKeyRing("list", requiredConfigPath(command)));
  keys
    .command("rotate")
    .description("managed keys: the standby key signs as soon as it has been published for the lead time; prints when (needs TESSERA_KEK)")
    .addOption(configOption())
    .action(async (_options: unknown, command: Command) => onKeyRing("rotate", requiredConfigPath(command)));
  keys
    .command("revoke")
    .description("managed keys, emergency: withdraw a key now; verifiers reject its tokens; the standby signs (needs TESSERA_KEK and the issuer)")
    .argument("<kid>", "the key to revoke (see keys list)")
    .addOption(configOption())
    .action(async (kid: string, _options: unknown, command: Command) => onKeyRing("revoke", requiredConfigPath(command), kid));
  keys.addHelpText(
    "after",
    "\nWith signing.keyFile the servers sign with that file's key: list shows it, and rotate and revoke print the\n" +
      "procedure instead (replace the file, restart). Managed keys live in Redis (REDIS_URL or the redis section).\n",
  );
  return keys;
}
