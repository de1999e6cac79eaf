import { randomBytes } from "node:crypto";
import { exportPKCS8 } from "jose";
import { loadConfigFile } from "../config/load.js";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "../config/types.js";
import { systemClock } from "../internal/clock.js";
import { stderrLogger } from "../internal/logger.js";
import { kekFromEnv } from "../keys/key-sealing.js";
import { generateSigningKey } from "../keys/signing-key.js";
import { openSharedState } from "../server/shared-state.js";
import { startKeyManager } from "../server/tessera-server.js";

const USAGE = `usage: tessera keys <command>

commands:
  generate [--alg ES256|EdDSA|RS256]   print a new private signing key (PKCS#8 PEM) for signing.keyFile
  kek                                 print a new key-encryption key for TESSERA_KEK
  list   --config FILE                the managed keys in Redis: kid, state, dates
  rotate --config FILE                the standby key signs as soon as it has been published for the lead time
  revoke --config FILE <kid>          emergency: withdraw a key now; verifiers reject its tokens; the standby signs
list, rotate and revoke work on the key ring in Redis (REDIS_URL or the redis section) and need TESSERA_KEK.
`;

function option(args: string[], name: string): { value: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === name) value = args[++i];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
    else rest.push(arg);
  }
  return { value, rest };
}

function isoTime(seconds: number | undefined): string {
  return seconds === undefined ? "-" : new Date(seconds * 1000).toISOString();
}

/** list / rotate / revoke on the shared key ring, as one more replica would. */
async function onRing(command: "list" | "rotate" | "revoke", args: string[]): Promise<number> {
  const { value: configPath, rest } = option(args, "--config");
  const path = configPath ?? process.env["TESSERA_CONFIG"];
  if (!path) throw new Error(`keys ${command} needs --config FILE (the configuration of the servers)`);
  const config = loadConfigFile(path);
  if (config.redis === undefined) throw new Error("the keys are managed in Redis only when the configuration has redis (or REDIS_URL); without it each process keeps its own keys");
  const kid = command === "revoke" ? rest[0] : undefined;
  if (command === "revoke" && kid === undefined) throw new Error("keys revoke needs the kid to revoke");
  if (command === "revoke" && config.issuerFromListener) throw new Error("keys revoke needs the issuer (issuer in the configuration or TESSERA_ISSUER) to tell verifiers");
  const state = openSharedState(config, {}, systemClock, stderrLogger);
  try {
    if (!(await state.redisHealth!.waitUntilUp(3000))) throw new Error("Redis does not answer");
    const manager = await startKeyManager(config, state, config.issuer, kekFromEnv(process.env), systemClock, stderrLogger);
    try {
      if (command === "rotate") await manager.rotate();
      if (command === "revoke") await manager.revoke(kid!);
      for (const r of manager.records()) {
        process.stdout.write(`${r.kid}  ${r.alg}  ${r.state.padEnd(7)}  published ${isoTime(r.publishedAt)}  activated ${isoTime(r.activatedAt)}  ended ${isoTime(r.endedAt)}\n`);
      }
    } finally {
      manager.stop();
    }
  } finally {
    await state.close();
  }
  return 0;
}

/** `tessera keys ...`: key material for the configuration, and the managed key ring. */
export async function keys(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "generate": {
      let alg: SigningAlgorithm = "ES256";
      const { value, rest: extra } = option(rest, "--alg");
      if (extra.length > 0) throw new Error(`unknown argument to keys generate: ${extra[0]}`);
      if (value !== undefined) {
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
    case "list":
    case "rotate":
    case "revoke":
      return onRing(command, rest);
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}
