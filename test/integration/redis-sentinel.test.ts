// A Sentinel-managed Redis, configured as `redis: { sentinels, name }`: a smoke test of that topology
// (one master, one sentinel, on free loopback ports).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { validateConfig } from "../../src/config/validate.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { freePorts } from "../helpers/free-ports.js";
import { until } from "../helpers/wait.js";

let master: RedisServer;
let sentinel: ChildProcess;
let dir: string;
let store: RedisStore | undefined;
let sentinelPort = 0;

before(async () => {
  master = await startRedisServer();
  const [port] = await freePorts(1);
  sentinelPort = port!;
  dir = mkdtempSync(join(tmpdir(), "tessera-sentinel-"));
  writeFileSync(join(dir, "sentinel.conf"), `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor main 127.0.0.1 ${master.port} 1\n`);
  sentinel = spawn("/usr/bin/redis-server", [join(dir, "sentinel.conf"), "--sentinel", "--logfile", ""], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  sentinel.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  await until(() => (output.includes("+monitor master main") ? true : undefined), "the sentinel to monitor the master");
});

after(async () => {
  await store?.close();
  sentinel?.kill("SIGKILL");
  await master?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test("redis.sentinels + name: the store finds the master through the sentinel", async () => {
  const config = validateConfig(
    { issuer: "https://issuer.example", redis: { sentinels: [`127.0.0.1:${sentinelPort}`], name: "main", keyPrefix: "sentinel-test:" } },
    {},
    () => "",
  );
  store = createRedisStore({ config: config.redis! });
  assert.equal(await store.health.waitUntilUp(5000), true);
  await store.denyList.revoke("https://issuer.example", "j", Date.now() / 1000 + 60);
  assert.equal(await store.denyList.isRevoked("https://issuer.example", "j"), true);
  assert.equal(await master.cli("EXISTS", store.keys.deny("https://issuer.example", "j")), "1", "written on the master");
});

test("waitReplicas absent: 0 while the master has no replica; 1 once one connects, and a revocation waits for it", async () => {
  assert.ok(store !== undefined, "runs after the test above");
  assert.equal(await store.denyList.waitReplicas(), 0);
  const replica = await startRedisServer({ extraArgs: ["--replicaof", "127.0.0.1", String(master.port)] });
  try {
    await until(async () => ((await master.cli("INFO", "replication")).includes("state=online") ? true : undefined), "the replica to be in sync");
    const config = validateConfig(
      { issuer: "https://issuer.example", redis: { sentinels: [`127.0.0.1:${sentinelPort}`], name: "main", keyPrefix: "sentinel-test:", waitTimeoutMs: 2000 } },
      {},
      () => "",
    );
    const withReplica = createRedisStore({ config: config.redis! });
    try {
      assert.equal(await withReplica.health.waitUntilUp(5000), true);
      assert.equal(await withReplica.denyList.waitReplicas(), 1);
      await withReplica.denyList.revoke("https://issuer.example", "k", Date.now() / 1000 + 60);
      assert.equal(await replica.cli("EXISTS", withReplica.keys.deny("https://issuer.example", "k")), "1", "on the replica once acknowledged");
    } finally {
      await withReplica.close();
    }
  } finally {
    await replica.destroy();
  }
});
