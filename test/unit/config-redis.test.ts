// The redis, introspection and rateLimit sections of the configuration, and REDIS_URL.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/config/config-error.js";
import { validateConfig, type EnvOverrides } from "../../src/config/validate.js";
import type { TesseraConfig } from "../../src/config/types.js";

const secrets = (reference: string, field: string): string => {
  if (reference === "env:REDIS_PASSWORD") return "pw-from-env";
  throw new ConfigError(field, `unresolved ${reference}`);
};

/** With Redis (replicas) the issuer must be set: these documents have one unless they say otherwise. */
function validate(doc: Record<string, unknown>, env: EnvOverrides = {}): TesseraConfig {
  return validateConfig({ issuer: "https://auth.example.com", ...doc }, env, secrets);
}

function rejects(doc: Record<string, unknown>, field: string, env: EnvOverrides = {}): ConfigError {
  let caught: unknown;
  try {
    validate(doc, env);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${field}, got ${String(caught)}`);
  assert.equal(caught.field, field, caught.message);
  return caught;
}

describe("configuration: redis", () => {
  test("absent, and no REDIS_URL: no redis (the memory store); documented defaults for cache and throttling", () => {
    const c = validate({});
    assert.equal(c.redis, undefined);
    assert.deepEqual(c.introspection, { cacheSeconds: 60 });
    assert.deepEqual(c.rateLimit, { failures: 10, windowSeconds: 60, perClient: { introspections: 60000, revocations: 600, windowSeconds: 60 } });
  });

  test("REDIS_URL alone: a standalone server with every default", () => {
    assert.deepEqual(validate({}, { REDIS_URL: "redis://127.0.0.1:6390/2" }).redis, {
      url: "redis://127.0.0.1:6390/2",
      keyPrefix: "tessera:",
      waitTimeoutMs: 500,
      commandTimeoutMs: 2000,
    });
    assert.equal(validate({ redis: { keyPrefix: "t2:", waitReplicas: 1 } }, { REDIS_URL: "rediss://r.example:6380" }).redis?.keyPrefix, "t2:");
    // waitReplicas absent means "follow the topology" (decided against the running Redis); given, it is kept.
    assert.equal(validate({ redis: { keyPrefix: "t2:", waitReplicas: 1 } }, { REDIS_URL: "rediss://r.example:6380" }).redis?.waitReplicas, 1);
    assert.equal(validate({ redis: { waitReplicas: 0 } }, { REDIS_URL: "redis://r.example:6380" }).redis?.waitReplicas, 0);
  });

  test("one topology: url, sentinels with name, or cluster", () => {
    assert.equal(validate({ redis: { url: "redis://:pw@127.0.0.1:6379" } }).redis?.url, "redis://:pw@127.0.0.1:6379");
    const sentinel = validate({ redis: { sentinels: ["10.0.0.1:26379", "[::1]:26380"], name: "main", password: "env:REDIS_PASSWORD" } }).redis!;
    assert.deepEqual(sentinel.sentinels, [
      { host: "10.0.0.1", port: 26379 },
      { host: "::1", port: 26380 },
    ]);
    assert.equal(sentinel.name, "main");
    assert.equal(sentinel.password, "pw-from-env");
    assert.deepEqual(validate({ redis: { cluster: ["redis-0:6379", "redis-1:6379"] } }).redis?.cluster, [
      { host: "redis-0", port: 6379 },
      { host: "redis-1", port: 6379 },
    ]);
  });

  test("bad fields are named", () => {
    rejects({ redis: {} }, "redis");
    rejects({ redis: { url: "redis://a:1", cluster: ["b:2"] } }, "redis");
    rejects({ redis: { url: "http://a:1" } }, "redis.url");
    rejects({ redis: { url: "redis://a:1/x" } }, "redis.url");
    rejects({ redis: { sentinels: ["a:1"] } }, "redis.name");
    rejects({ redis: { url: "redis://a:1", name: "m" } }, "redis.name");
    rejects({ redis: { cluster: [] } }, "redis.cluster");
    rejects({ redis: { cluster: ["no-port"] } }, "redis.cluster[0]");
    rejects({ redis: { cluster: ["a:70000"] } }, "redis.cluster[0]");
    rejects({ redis: { url: "redis://a:1", keyPrefix: "{t}:" } }, "redis.keyPrefix");
    rejects({ redis: { url: "redis://a:1", keyPrefix: "has space" } }, "redis.keyPrefix");
    rejects({ redis: { url: "redis://a:1", waitReplicas: 2 } }, "redis.waitReplicas");
    rejects({ redis: { url: "redis://a:1", commandTimeoutMs: 0 } }, "redis.commandTimeoutMs");
    rejects({ redis: { cluster: ["a:1"], password: "plain-text" } }, "redis.password");
    rejects({ redis: { url: "redis://a:1", password: "env:REDIS_PASSWORD" } }, "redis.password");
    rejects({ redis: { url: "redis://a:1", db: 1 } }, "redis.db");
    rejects({}, "REDIS_URL", { REDIS_URL: "not a url" });
    rejects({ redis: { cluster: ["a:1"] } }, "REDIS_URL", { REDIS_URL: "redis://b:2" });
  });

  test("a bad URL is not echoed: it may hold a password", () => {
    const err = rejects({ redis: { url: "redis//user:s3cret@host" } }, "redis.url");
    assert.ok(!err.message.includes("s3cret"));
  });

  test("introspection and rateLimit", () => {
    const c = validate({ introspection: { cacheSeconds: 0 }, rateLimit: { failures: 5, windowSeconds: 300 } });
    assert.deepEqual(c.introspection, { cacheSeconds: 0 });
    assert.deepEqual(c.rateLimit, { failures: 5, windowSeconds: 300, perClient: { introspections: 60000, revocations: 600, windowSeconds: 60 } });
    rejects({ introspection: { cacheSeconds: -1 } }, "introspection.cacheSeconds");
    rejects({ introspection: { ttl: 5 } }, "introspection.ttl");
    rejects({ rateLimit: { windowSeconds: 0 } }, "rateLimit.windowSeconds");
    rejects({ rateLimit: { failures: "many" } }, "rateLimit.failures");
  });
});
