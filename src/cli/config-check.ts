import { readFileSync } from "node:fs";
import { Command } from "commander";
import { loadConfigFile } from "../config/load.js";
import type { TesseraConfig } from "../config/types.js";
import { systemClock } from "../internal/clock.js";
import { silentLogger } from "../internal/logger.js";
import { kekFromEnv, unsealPrivateJwk, type KeyEncryptionKey } from "../keys/key-sealing.js";
import { loadSigningKeyFile } from "../keys/signing-key.js";
import { loadDeclaredScopes } from "../policy/declared-scopes.js";
import { EXIT, ExitWith } from "./exit-codes.js";
import { configOption, requiredConfigPath } from "./config-option.js";

const REDIS_WAIT_MS = 3000;

/** What a check found: facts to print on success, and problems that fail it. */
interface Findings {
  notes: string[];
  problems: string[];
}

/** `tessera config check --config FILE`: the command's definition. */
export function configCommand(): Command {
  const config = new Command("config").description("the configuration file");
  config
    .command("check")
    .description(
      "dry run: validate the configuration, read the signing key file, check the issuer, TLS files, TESSERA_KEK and Redis; prints OK or every problem (exit 0 or 78)",
    )
    .addOption(configOption())
    .option("--no-redis", "do not connect to Redis (and so do not check that TESSERA_KEK opens the stored keys)")
    .action(async (options: { redis: boolean }, command: Command) => checkConfig(requiredConfigPath(command), options.redis));
  return config;
}

// A defaulted issuer on a wildcard host or with Redis is refused by the configuration itself
// (config/checks.ts checkIssuerIsExplicit), so a configuration that loads has a usable one.
function checkIssuer(config: TesseraConfig, found: Findings): void {
  if (!config.issuerFromListener) found.notes.push(`issuer: ${config.issuer}`);
  else found.notes.push(`issuer: ${config.issuer} (not set: the HTTP listener's URL${config.http.port === 0 ? ", with the port bound at start" : ""})`);
}

function checkTlsFiles(config: TesseraConfig, found: Findings): void {
  for (const listener of ["http", "grpc"] as const) {
    const tls = config[listener].tls;
    if (tls === undefined) continue;
    for (const field of ["certFile", "keyFile"] as const) {
      try {
        readFileSync(tls[field]);
      } catch (err) {
        found.problems.push(`${listener}.tls.${field}: cannot read ${tls[field]} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      }
    }
  }
}

async function checkKeyFile(config: TesseraConfig, keyFile: string, found: Findings): Promise<void> {
  try {
    const key = await loadSigningKeyFile(keyFile, config.signing.algorithm);
    found.notes.push(`signing: the key in ${keyFile}, kid ${key.kid} (${key.alg}); not managed or rotated by Tessera`);
  } catch (err) {
    found.problems.push(`signing.keyFile: ${(err as Error).message}`);
  }
}

function kekOf(found: Findings): KeyEncryptionKey | undefined {
  try {
    const kek = kekFromEnv(process.env);
    if (kek === undefined) found.problems.push("TESSERA_KEK (or TESSERA_KEK_FILE) is not set: the servers seal their managed signing keys in Redis under it");
    return kek;
  } catch (err) {
    found.problems.push((err as Error).message);
    return undefined;
  }
}

/** Connects as a server would: Redis answers, and the KEK opens the stored keys (if there are any yet). */
async function checkRedis(config: TesseraConfig, kek: KeyEncryptionKey | undefined, found: Findings): Promise<void> {
  const [{ openSharedState }, { RedisKeyRing }] = await Promise.all([import("../server/shared-state.js"), import("../store/redis/key-ring.js")]);
  const state = openSharedState(config, {}, systemClock, silentLogger);
  try {
    if (!(await state.redisHealth!.waitUntilUp(REDIS_WAIT_MS))) {
      found.problems.push(`redis: does not answer within ${REDIS_WAIT_MS} ms`);
      return;
    }
    found.notes.push("redis: answers");
    if (config.signing.keyFile !== undefined) return;
    const ring = await new RedisKeyRing(state.redis!.client, state.redis!.keys.prefix).read();
    const sealed = ring.records.find((r) => r.state === "active") ?? ring.records.find((r) => r.state !== "revoked");
    if (sealed === undefined) {
      found.notes.push("signing: managed keys in Redis; none yet (the first server to start makes them)");
    } else if (kek !== undefined) {
      try {
        await unsealPrivateJwk(sealed.sealed, kek);
        found.notes.push(`signing: managed keys in Redis (${ring.records.length}); TESSERA_KEK opens them`);
      } catch (err) {
        found.problems.push((err as Error).message);
      }
    }
  } finally {
    await state.close();
  }
}

/** The grants against the descriptor sets of policy.descriptorSets, as `serve` checks them at start. */
function checkDeclaredScopes(config: TesseraConfig, found: Findings): void {
  if (config.policy.descriptorSets.length === 0) return;
  try {
    const declared = loadDeclaredScopes(config.policy.descriptorSets, []);
    const problems = declared!.grantProblems(config.clients);
    for (const { label, problem } of problems) found.problems.push(`${label}: ${problem}`);
    if (problems.length === 0)
      found.notes.push(`grants: every scope is declared by its audience's service (${declared!.byAudience.size} audiences in the descriptor sets)`);
  } catch (err) {
    found.problems.push((err as Error).message);
  }
}

/** Checks the configuration as `serve` would load it, without listening; prints OK or every problem found. */
async function checkConfig(path: string, connectRedis: boolean): Promise<void> {
  const config = loadConfigFile(path);
  const found: Findings = { notes: [`config: ${path}`], problems: [] };
  checkIssuer(config, found);
  checkTlsFiles(config, found);
  const keyFile = config.signing.keyFile;
  let kek: KeyEncryptionKey | undefined;
  if (keyFile !== undefined) await checkKeyFile(config, keyFile, found);
  else if (config.redis !== undefined) kek = kekOf(found);
  else found.notes.push("signing: managed keys in this process's memory (one replica; a restart makes new keys)");
  if (config.redis !== undefined) {
    if (connectRedis) await checkRedis(config, kek, found);
    else found.notes.push("redis: not contacted (--no-redis)");
  }
  found.notes.push(`clients: ${config.clients.length}; trusted issuers: ${config.trustedIssuers.length}`);
  checkDeclaredScopes(config, found);

  if (found.problems.length > 0) {
    process.stderr.write(found.problems.map((p) => `error: ${p}\n`).join(""));
    process.stderr.write(`${path}: ${found.problems.length} problem${found.problems.length === 1 ? "" : "s"}\n`);
    throw new ExitWith(EXIT.config);
  }
  process.stdout.write(`${found.notes.map((n) => `${n}\n`).join("")}OK\n`);
}
