// The shared client registry on a real Redis Cluster (three masters): the documents, versions and
// sequence live under one hash tag, and changes travel by cluster-wide pub/sub. Two replicas: what
// one writes, the other holds and enforces.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { adminConfig, adminToken, connectAdmin, requestToken } from "../helpers/client-admin.js";
import { startRedisCluster, type RedisCluster } from "../helpers/redis-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { until } from "../helpers/wait.js";

const FILES = "https://files.example.com";
let cluster: RedisCluster;
let a: TesseraServer;
let b: TesseraServer;

before(async () => {
  cluster = await startRedisCluster();
  const config = adminConfig({ redisCluster: cluster.startupNodes.map((n) => `${n.host}:${n.port}`), issuer: "https://tessera.example.com" });
  const kek = { id: "test-kek", key: Buffer.alloc(32, 9) };
  a = await startCapturedServer({ config, kek });
  b = await startCapturedServer({ config, kek });
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.destroy();
});

test("a client created, given a second secret and deleted through one replica is in force on the other", async () => {
  const adminA = connectAdmin(a.httpUrl, await adminToken(a.httpUrl));
  const adminB = connectAdmin(b.httpUrl, await adminToken(b.httpUrl));
  const token = (server: TesseraServer, secret: string) => requestToken(server.httpUrl, "on-cluster", secret, { resource: FILES, scope: "file.view" });

  const created = await adminA.createClient({ client: { clientId: "on-cluster", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
  await until(() => b.context.clients.get("on-cluster"), "the client on replica B");
  assert.equal((await token(b, created.clientSecret)).status, 200);

  const added = await adminB.addClientSecret({ clientId: "on-cluster" });
  await until(() => (a.context.clients.get("on-cluster")?.secretDigests.length === 2 ? true : undefined), "the second secret on replica A");
  assert.equal((await token(a, added.clientSecret)).status, 200);
  assert.equal((await adminA.getClient({ clientId: "on-cluster" })).client!.version, (await adminB.getClient({ clientId: "on-cluster" })).client!.version);

  await adminB.deleteClient({ clientId: "on-cluster" });
  await until(() => (a.context.clients.get("on-cluster") === undefined ? true : undefined), "the deletion on replica A");
  assert.equal((await token(a, created.clientSecret)).status, 401);
});
