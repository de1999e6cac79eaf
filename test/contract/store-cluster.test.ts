// The store contract against a real Redis Cluster of three masters, started for this file.
// The revocation keys share the {rev} hash tag (one slot); replay and throttle keys spread.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Cluster } from "ioredis";
import { TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { fastFailOptions } from "../../src/store/redis/redis-client.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import { killClientsNamed, startRedisCluster, type RedisCluster } from "../helpers/redis-server.js";
import { redisStores } from "./redis-stores.js";
import { storeContract, type StoreSettings, type Stores } from "./store.contract.js";

let cluster: RedisCluster;
const run = randomUUID().slice(0, 8);
let count = 0;
const opened: { store: RedisStore; client: Cluster }[] = [];
const prefixes = new WeakMap<Stores, string>();

function clusterClient(): Cluster {
  const { retryStrategy: _r, enableOfflineQueue: _q, ...redisOptions } = fastFailOptions(2000);
  const client = new Cluster([...cluster.startupNodes], { enableOfflineQueue: false, redisOptions });
  client.on("error", () => {});
  return client;
}

before(async () => {
  cluster = await startRedisCluster();
});

after(async () => {
  for (const { store, client } of opened) {
    await store.close();
    client.disconnect();
  }
  await cluster?.destroy();
});

async function openStores(settings: StoreSettings, keyPrefix: string): Promise<Stores> {
  const client = clusterClient();
  await new Promise((resolve) => client.once("ready", resolve));
  const { store, stores } = await redisStores(client, settings, keyPrefix);
  opened.push({ store, client });
  prefixes.set(stores, keyPrefix);
  return stores;
}

storeContract("redis (cluster, 3 masters)", {
  create: (settings) => openStores(settings, `test-${run}-${count++}:`),
  replica: (stores, settings) => openStores(settings, prefixes.get(stores)!),
  async disconnectSubscribers(stores) {
    const killed = await Promise.all(cluster.nodes.map((n) => killClientsNamed(n.port, `${prefixes.get(stores)}feed`)));
    assert.ok(killed.reduce((a, b) => a + b, 0) >= 1, "the subscriber's connection was found and killed");
  },
});

test("cluster: the revocation keys share a slot, replay records spread over the masters", async () => {
  const client = clusterClient();
  await new Promise((resolve) => client.once("ready", resolve));
  const store = createRedisStore({ client }, { keyPrefix: `test-${run}-slots:` });
  opened.push({ store, client });
  {
    const { keys } = store;
    const slotOf = async (key: string) => Number(await client.cluster("KEYSLOT", key));
    const revocationSlots = new Set(
      await Promise.all([keys.deny("i", "j"), keys.introspection("i", "j"), keys.revoked, keys.feed, keys.feedSeq, keys.deny("x", "{y}")].map(slotOf)),
    );
    assert.equal(revocationSlots.size, 1, "deny, cache, index and feed in one slot: the scripts are atomic on a cluster");
    const replaySlots = new Set(await Promise.all(Array.from({ length: 20 }, (_, i) => slotOf(keys.replay(`r${i}`)))));
    assert.ok(replaySlots.size > 10, "replay records are spread");
    const subjectSlots = new Set(await Promise.all(["introspections", "revocations"].map((name) => slotOf(keys.rateLimit(name, "billing")))));
    assert.equal(subjectSlots.size, 1, "a subject's rate counters share a slot");
    const limitSlots = new Set(await Promise.all(Array.from({ length: 20 }, (_, i) => slotOf(keys.rateLimit("revocations", `client-${i}`)))));
    assert.ok(limitSlots.size > 10, "subjects are spread");
  }
});

test("cluster: with waitReplicas 1 the script and WAIT go to the slot's master in one pipeline (no replica here: not acknowledged)", async () => {
  const client = clusterClient();
  await new Promise((resolve) => client.once("ready", resolve));
  const store = createRedisStore({ client }, { keyPrefix: `test-${run}-wait:`, waitReplicas: 1, waitTimeoutMs: 100 });
  opened.push({ store, client });
  await assert.rejects(store.denyList.revoke("https://issuer.example", "j", Date.now() / 1000 + 60), TemporarilyUnavailableError);
  assert.equal(
    await client.exists(store.keys.deny("https://issuer.example", "j")),
    1,
    "written on the master that owns the slot; only the replica's confirmation is missing",
  );
});
