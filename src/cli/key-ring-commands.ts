import { loadConfigFile } from "../config/load.js";
import type { TesseraConfig } from "../config/types.js";
import { systemClock } from "../internal/clock.js";
import { stderrLogger } from "../internal/json-logger.js";
import type { KeyRingState } from "../keys/key-record.js";
import { kekFromEnv, unsealPrivateJwk } from "../keys/key-sealing.js";
import { loadSigningKeyFile } from "../keys/signing-key.js";
import { openSharedState, type SharedState } from "../server/shared-state.js";
import { RedisKeyRing } from "../store/redis/key-ring.js";
import { ConfigurationProblem } from "./exit-codes.js";
import { isoTime, keyLines, nextActivation, type NextActivation } from "./key-schedule.js";

export type KeyRingCommand = "list" | "rotate" | "revoke";

const REDIS_WAIT_MS = 3000;

/** The procedure for keys Tessera does not manage: printed by `keys rotate` and `keys revoke` instead of acting. */
function keyFileProcedure(command: "rotate" | "revoke", keyFile: string, alg: string): string {
  const what = command === "rotate" ? "rotate it" : "withdraw it (for example because it leaked)";
  return [
    `signing.keyFile is set (${keyFile}): Tessera signs with that key as it is and does not manage it, so \`keys ${command}\` cannot act on it.`,
    `To ${what}:`,
    `  1. write a new key: tessera keys generate --alg ${alg} > new-signing-key.pem`,
    `  2. replace ${keyFile} with it on every replica`,
    "  3. restart every replica (promptly: until all run on the new file, verifiers may meet either key)",
    "The old key then leaves the JWKS; verifiers drop it at their next JWKS refresh (Tessera's interceptors",
    "refresh every 5 minutes and on an unknown kid), and clients whose token it signed get a new one.",
    "For rotation without restarts, remove signing.keyFile: Tessera then manages its keys (in Redis, sealed under TESSERA_KEK).",
  ].join("\n");
}

async function fileKey(config: TesseraConfig, keyFile: string) {
  try {
    return await loadSigningKeyFile(keyFile, config.signing.algorithm);
  } catch (err) {
    throw new ConfigurationProblem(`signing.keyFile: ${(err as Error).message}`);
  }
}

/** With signing.keyFile: list reads the file's key; rotate and revoke refuse with the procedure. */
async function onKeyFile(command: KeyRingCommand, config: TesseraConfig, keyFile: string): Promise<void> {
  const key = await fileKey(config, keyFile);
  if (command !== "list") throw new Error(keyFileProcedure(command, keyFile, key.alg));
  process.stdout.write(
    `signing.keyFile is set: the servers sign with the one key in ${keyFile}; Tessera does not manage or rotate it (no key ring in Redis).\n` +
      `${key.kid}  ${key.alg}  file     ${keyFile}\n`,
  );
}

function describeNext(next: NextActivation | undefined, checkIntervalSeconds: number): string {
  if (next === undefined) return "";
  const when = `${isoTime(next.at)} (taken by the first server to check its schedule from then on, every ${checkIntervalSeconds} s)`;
  if (next.requestedAt === undefined) return `next rotation (scheduled): standby ${next.standby.kid} signs from ${when}\n`;
  return (
    `rotation requested at ${isoTime(next.requestedAt)} and pending: standby ${next.standby.kid} signs from ${when}; ${next.active.kid} signs until then.\n` +
    "The request promotes whichever key is the standby when it is carried out: a `keys revoke` of the signing key before then\n" +
    "makes this standby sign at once, and the request then applies to the new standby, after its own lead time.\n"
  );
}

function requireRing(state: KeyRingState, prefix: string, command: KeyRingCommand): void {
  if (state.records.length === 0) {
    throw new Error(
      `no key ring in Redis under the prefix "${prefix}": no server has started with this configuration and this Redis yet, so there is nothing to ${command}`,
    );
  }
}

/** `keys list|rotate|revoke` with managed keys in Redis, acting as one more replica would. */
async function onRedisRing(command: KeyRingCommand, config: TesseraConfig, kid: string | undefined): Promise<void> {
  // Checked before connecting: without them nothing can be done, whatever Redis holds.
  const kek = kekFromEnv(process.env);
  if (command !== "list" && kek === undefined) {
    throw new ConfigurationProblem(`keys ${command} needs TESSERA_KEK (or TESSERA_KEK_FILE): the key-encryption key the servers seal their signing keys with`);
  }
  if (command === "revoke" && config.issuerFromListener) {
    throw new ConfigurationProblem("keys revoke needs the issuer (issuer in the configuration, or TESSERA_ISSUER) to tell verifiers which tokens to reject");
  }
  const state: SharedState = openSharedState(config, {}, systemClock, stderrLogger);
  try {
    if (!(await state.redisHealth!.waitUntilUp(REDIS_WAIT_MS))) throw new Error(`Redis does not answer within ${REDIS_WAIT_MS} ms`);
    const prefix = state.redis!.keys.prefix;
    const ring = new RedisKeyRing(state.redis!.client, prefix);
    const times = config.signing.rotation;
    const before = await ring.read();

    if (command === "list") {
      if (before.records.length === 0) {
        process.stdout.write(`no key ring in Redis under the prefix "${prefix}" yet: the first server to start creates it\n`);
        return;
      }
      // The list needs no KEK; one that is given must open the keys, as it must for the servers.
      const sealed = before.records.find((r) => r.state === "active");
      if (kek !== undefined && sealed !== undefined) await unsealPrivateJwk(sealed.sealed, kek);
      process.stdout.write(keyLines(before.records) + describeNext(nextActivation(before, times), times.checkIntervalSeconds));
      return;
    }

    requireRing(before, prefix, command);
    if (command === "revoke" && !before.records.some((r) => r.kid === kid)) {
      throw new Error(`no key ${kid} in the key ring; its keys are: ${before.records.map((r) => `${r.kid} (${r.state})`).join(", ")}`);
    }
    // The servers' own key manager, acting as one more replica; loaded only here, since it brings the whole server.
    const { startKeyManager } = await import("../server/tessera-server.js");
    const manager = await startKeyManager(config, state, config.issuer, kek, systemClock, stderrLogger);
    try {
      if (command === "rotate") await manager.rotate();
      else await manager.revoke(kid!);
    } finally {
      manager.stop();
    }
    const after = await ring.read();
    const activeBefore = before.records.find((r) => r.state === "active")?.kid;
    const active = after.records.find((r) => r.state === "active");
    let summary: string;
    if (command === "revoke") {
      const revoked = after.records.find((r) => r.kid === kid);
      summary =
        before.records.find((r) => r.kid === kid)?.state === "revoked"
          ? `${kid} was already revoked at ${isoTime(revoked?.endedAt)}\n`
          : `revoked ${kid}: withdrawn from the JWKS, and verifiers that follow the revocation feed reject its tokens now\n`;
    } else if (active !== undefined && active.kid !== activeBefore) {
      summary = `rotated: ${active.kid} signs from ${isoTime(active.activatedAt)}; ${activeBefore ?? "-"} is retired and stays published until its tokens expired\n`;
    } else if (before.rotateRequestedAt !== undefined) {
      summary = `a rotation was already requested at ${isoTime(before.rotateRequestedAt)}; nothing changed\n`;
    } else {
      summary = "rotation requested\n";
    }
    if (active !== undefined) summary += `signing now: ${active.kid} (since ${isoTime(active.activatedAt)})\n`;
    process.stdout.write(summary + describeNext(nextActivation(after, times), times.checkIntervalSeconds) + keyLines(after.records));
  } finally {
    await state.close();
  }
}

/** `tessera keys list|rotate|revoke --config FILE`. */
export async function onKeyRing(command: KeyRingCommand, configPath: string, kid?: string): Promise<void> {
  const config = loadConfigFile(configPath);
  const keyFile = config.signing.keyFile;
  if (keyFile !== undefined) return onKeyFile(command, config, keyFile);
  if (config.redis === undefined) {
    throw new Error(
      `the configuration has no redis section (nor REDIS_URL): each server process keeps its own managed keys in memory, and a restart makes new ones; there is no shared key ring to ${command}`,
    );
  }
  return onRedisRing(command, config, kid);
}
