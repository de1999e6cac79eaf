// Configuration values reach the parts that use them: the Redis store and the
// signing-key ring take their defaults and deadline from the configuration.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { DEFAULTS } from "../../src/config/defaults.js";
import { validateConfig } from "../../src/config/validate.js";
import { TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { systemClock } from "../../src/internal/clock.js";
import { silentLogger } from "../../src/internal/logger.js";
import { DEFAULT_CHECK_INTERVAL_MS } from "../../src/keys/key-manager.js";
import { kekFromEnv } from "../../src/keys/key-sealing.js";
import { openSharedState } from "../../src/server/shared-state.js";
import { startKeyManager } from "../../src/server/tessera-server.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";

let redis: RedisServer;
const clients: Redis[] = [];

before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  clients.forEach((c) => c.disconnect());
  await redis?.destroy();
});

/** A client the way an embedder may make one: no deadline of its own, so only Tessera's bounds a call. */
async function plainClient(): Promise<Redis> {
  const client = new Redis(redis.url);
  clients.push(client);
  client.on("error", () => {});
  await new Promise((resolve) => client.once("ready", resolve));
  return client;
}

describe("configuration wiring", () => {
  test("a Redis store without settings uses the configuration's defaults", async () => {
    const store = createRedisStore({ client: await plainClient() });
    try {
      assert.equal(store.keys.prefix, DEFAULTS.redisKeyPrefix);
      assert.equal(store.commandTimeoutMs, DEFAULTS.redisCommandTimeoutMs);
    } finally {
      await store.close();
    }
  });

  test("the KeyManager checks as often by default as signing.rotation.checkIntervalSeconds says", () => {
    const config = validateConfig({}, {}, () => "");
    assert.equal(DEFAULT_CHECK_INTERVAL_MS, config.signing.rotation.checkIntervalSeconds * 1000);
  });

  test("the signing-key ring in Redis follows redis.commandTimeoutMs", async () => {
    const doc = { issuer: "https://issuer.example", redis: { url: redis.url, keyPrefix: `wiring-${randomUUID().slice(0, 8)}:`, commandTimeoutMs: 100 } };
    const config = validateConfig(doc, {}, () => "");
    const state = openSharedState(config, { redis: await plainClient() }, systemClock, silentLogger);
    const kek = kekFromEnv({ TESSERA_KEK: randomBytes(32).toString("base64url") })!;
    assert.equal(state.redis?.commandTimeoutMs, 100);
    // Paused for 1.5 s: within the key ring's own default deadline (2 s), far past the configured 100 ms.
    assert.equal(await redis.cli("CLIENT", "PAUSE", "1500", "ALL"), "OK");
    try {
      // Were the deadline ignored, the manager would start once the pause ends: stop it then, so that the failure is reported.
      const started = startKeyManager(config, state, config.issuer, kek, systemClock, silentLogger).then((manager) => manager.stop());
      await assert.rejects(started, TemporarilyUnavailableError);
    } finally {
      await redis.cli("CLIENT", "UNPAUSE");
      await state.close();
    }
  });
});
