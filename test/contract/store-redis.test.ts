// The store contract against a real standalone redis-server (AOF on, so that it can be restarted
// with its data), started on a free port. With REDIS_URL set, that server is used instead (with a
// key prefix of its own; no restart then).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before } from "node:test";
import { Redis } from "ioredis";
import { fastFailOptions } from "../../src/store/redis/redis-client.js";
import type { RedisStore } from "../../src/store/redis/redis-store.js";
import { killClientsNamed, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { redisStores } from "./redis-stores.js";
import { storeContract, type StoreSettings, type Stores } from "./store.contract.js";

const external = process.env.REDIS_URL;
let server: RedisServer | undefined;
let url = external ?? "";
const run = randomUUID().slice(0, 8);
let count = 0;
const opened: { store: RedisStore; client: Redis }[] = [];
const prefixes = new WeakMap<Stores, string>();

before(async () => {
  if (external === undefined) {
    server = await startRedisServer({ appendfsync: "everysec" });
    url = server.url;
  }
});

after(async () => {
  for (const { store, client } of opened) {
    await store.close();
    client.disconnect();
  }
  await server?.destroy();
});

async function openStores(settings: StoreSettings, keyPrefix: string): Promise<Stores> {
  const client = new Redis(url, fastFailOptions(2000));
  client.on("error", () => {});
  // No offline queue: commands fail until the connection is ready.
  await new Promise((resolve) => client.once("ready", resolve));
  const { store, stores } = await redisStores(client, settings, keyPrefix);
  opened.push({ store, client });
  prefixes.set(stores, keyPrefix);
  return stores;
}

storeContract("redis (standalone)", {
  create: (settings) => openStores(settings, `test-${run}-${count++}:`),
  replica: (stores, settings) => openStores(settings, prefixes.get(stores)!),
  async disconnectSubscribers(stores) {
    const port = Number(new URL(url).port || 6379);
    const killed = await killClientsNamed(port, `${prefixes.get(stores)}feed`);
    assert.ok(killed >= 1, "the subscriber's connection was found and killed");
  },
  ...(external === undefined
    ? {
        async restart() {
          await server!.stop();
          await server!.start();
        },
      }
    : {}),
});
