// Redis failures are told apart in the log, against a real redis-server with requirepass: a wrong
// password, no password, a refused port, a host that does not resolve, a database index Redis
// refuses. Each is one JSON-ready log call naming the reason and where, never the password.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { validateConfig } from "../../src/config/validate.js";
import type { Logger } from "../../src/internal/logger.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { fixtureConfig } from "../helpers/fixtures.js";
import { freePorts } from "../helpers/free-ports.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { until } from "../helpers/wait.js";
import { jsonLogLines, logLine, spawnTessera } from "../helpers/child-process.js";

const PASSWORD = "requirepass-0123456789abcdef0123456789abcdef";
let redis: RedisServer;

before(async () => {
  redis = await startRedisServer({ extraArgs: ["--requirepass", PASSWORD] });
});
after(() => redis.destroy());

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** Connects a store to `url`, waits for the first classified failure, and returns what was logged. */
async function failureLogged(url: string, reason: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const logger: Logger = {
    info: (message, fields) => lines.push({ level: "info", message, fields }),
    warn: (message, fields) => lines.push({ level: "warn", message, fields }),
    error: (message, fields) => lines.push({ level: "error", message, fields }),
  };
  const config = validateConfig({ issuer: "http://127.0.0.1:8080", redis: { url, commandTimeoutMs: 500 } }, {}, () => "").redis!;
  const store = createRedisStore({ config }, { logger });
  try {
    await until(() => (lines.some((l) => l.fields?.reason === reason) ? true : undefined), `a ${reason} log line\n${JSON.stringify(lines)}`, 15_000);
  } finally {
    await store.close();
  }
  for (const line of lines) {
    assert.ok(!JSON.stringify(line).includes(PASSWORD) && !JSON.stringify(line).includes("wrong-password"), "never the password");
  }
  return lines;
}

describe("Redis failures in the log", () => {
  test("wrong password: WRONGPASS, with host:port", async () => {
    const lines = await failureLogged(`redis://:wrong-password@127.0.0.1:${redis.port}`, "auth_failed");
    const line = lines.find((l) => l.fields?.reason === "auth_failed")!;
    assert.equal(line.level, "error");
    assert.match(line.message, new RegExp(`^redis at 127\\.0\\.0\\.1:${redis.port} unavailable: .*WRONGPASS`));
  });

  test("no password: NOAUTH", async () => {
    const lines = await failureLogged(`redis://127.0.0.1:${redis.port}`, "auth_required");
    assert.match(lines.find((l) => l.fields?.reason === "auth_required")!.message, /NOAUTH/);
  });

  test("nothing listening: ECONNREFUSED", async () => {
    const [port] = await freePorts(1);
    const lines = await failureLogged(`redis://127.0.0.1:${port}`, "connection_refused");
    assert.match(lines.find((l) => l.fields?.reason === "connection_refused")!.message, new RegExp(`127\\.0\\.0\\.1:${port} unavailable \\(ECONNREFUSED\\)`));
  });

  test("a host name that does not resolve: ENOTFOUND", async () => {
    const lines = await failureLogged("redis://tessera-no-such-host.invalid:6390", "host_not_found");
    assert.match(lines.find((l) => l.fields?.reason === "host_not_found")!.message, /tessera-no-such-host\.invalid/);
  });

  test("the same failure is logged once per 30 s while Redis stays down, however often ioredis retries", async () => {
    const [port] = await freePorts(1);
    const lines: string[] = [];
    const logger: Logger = { info: () => {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    const config = validateConfig({ issuer: "http://127.0.0.1:8080", redis: { url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 500 } }, {}, () => "").redis!;
    const store = createRedisStore({ config }, { logger });
    let errors = 0;
    store.client.on("error", () => errors++);
    try {
      await until(() => (errors >= 4 ? true : undefined), "four failed connection attempts", 15_000);
      assert.equal(lines.filter((l) => l.includes("ECONNREFUSED")).length, 1, lines.join("\n"));
    } finally {
      await store.close();
    }
  });

  test("a database index Redis refuses stops the start, instead of serving from db 0", async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}/99`;
    const lines = await failureLogged(url, "bad_db_index");
    assert.match(lines.find((l) => l.fields?.reason === "bad_db_index")!.message, /database index/);
    const { config } = await fixtureConfig();
    const redisConfig = validateConfig({ issuer: "http://127.0.0.1:8080", redis: { url, commandTimeoutMs: 500 } }, {}, () => "").redis!;
    await assert.rejects(startCapturedServer({ config: { ...config, redis: redisConfig } }), /database index.*not starting/);
    // No signing keys in db 0 (the deny-list's epoch marker, written as the store opens, still lands there).
    const keys = await redis.cli("-a", PASSWORD, "--no-auth-warning", "-n", "0", "keys", "*");
    assert.doesNotMatch(keys, /key/);
  });
});

describe("ioredis' own warnings", () => {
  test("go through the JSON log of tessera serve, and never show the password", async () => {
    const open = await startRedisServer();
    const password = "unneeded-password-0123456789abcdef";
    const child = spawnTessera(["serve"], {
      REDIS_URL: `redis://:${password}@127.0.0.1:${open.port}`,
      TESSERA_ISSUER: "http://127.0.0.1:8080",
      TESSERA_KEK: randomBytes(32).toString("base64url"),
      TESSERA_HTTP_PORT: "0",
      TESSERA_GRPC_PORT: "0",
    });
    try {
      await logLine(child, "tessera listening", 30_000);
      // ioredis prints this with console.warn when Redis needs no password.
      await child.waitFor("stderr", /does not require a password/);
      const warned = jsonLogLines(child.stderr()).find((l) => String(l.msg).includes("does not require a password"));
      assert.equal(warned?.level, "warn");
      assert.equal(warned?.source, "console");
      const lines = child.stderr().split("\n");
      assert.ok(!lines.some((line) => line.startsWith("[WARN]")), "no raw ioredis line");
      assert.ok(!child.stderr().includes(password));
    } finally {
      child.kill();
      await child.exited().catch(() => {});
      await open.destroy();
    }
  });
});
