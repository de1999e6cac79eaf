// `tessera clients ...` against a running two-replica deployment (one real
// Redis): an operator creates a client, grants it an audience, rotates its
// secret and disables it, without a restart, each step through the CLI (a
// child process) on either replica; tokens follow on both.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createTesseraServer, type TesseraServer } from "../../src/server/tessera-server.js";
import { ADMIN_SECRETS, adminConfig, requestToken } from "../helpers/client-admin.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { tessera } from "../helpers/run-tessera.js";
import { until } from "../helpers/wait.js";

const FILES = "https://files.example.com";
const CALENDAR = "https://calendar.example.com";
let redis: RedisServer;
let a: TesseraServer;
let b: TesseraServer;

before(async () => {
  redis = await startRedisServer();
  const config = adminConfig({ redisUrl: redis.url, issuer: "https://tessera.example.com" });
  const kek = { id: "test-kek", key: Buffer.alloc(32, 9) };
  a = await createTesseraServer({ config, kek });
  b = await createTesseraServer({ config, kek });
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.destroy();
});

function clients(server: TesseraServer, args: string[], clientId = "admin") {
  return tessera(["clients", ...args], {
    TESSERA_URL: server.httpUrl,
    TESSERA_ADMIN_CLIENT_ID: clientId,
    TESSERA_ADMIN_CLIENT_SECRET: ADMIN_SECRETS[clientId as keyof typeof ADMIN_SECRETS],
  });
}

describe("tessera clients", () => {
  test("create, grant, rotate, disable: on two replicas, without a restart", async () => {
    const created = await clients(a, ["create", "orders", "--grant", `${FILES}=file.view`, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const { clientSecret: first, secretId: firstId } = JSON.parse(created.stdout) as { clientSecret: string; secretId: string };
    await until(() => b.context.clients.get("orders"), "orders on B");
    assert.equal((await requestToken(b.httpUrl, "orders", first, { resource: FILES })).status, 200);

    const granted = await clients(b, ["update", "orders", "--grant", `${FILES}=file.view`, "--grant", `${CALENDAR}=event.view,event.create`]);
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout, /grant: +https:\/\/calendar\.example\.com +event\.view event\.create/);
    await until(() => (a.context.clients.get("orders")?.grants.length === 2 ? true : undefined), "grant on A");
    assert.equal((await requestToken(a.httpUrl, "orders", first, { resource: CALENDAR, scope: "event.create" })).status, 200);

    const added = await clients(a, ["add-secret", "orders", "--json"]);
    assert.equal(added.code, 0, added.stderr);
    const { clientSecret: second } = JSON.parse(added.stdout) as { clientSecret: string };
    await until(() => (b.context.clients.get("orders")?.secretDigests.length === 2 ? true : undefined), "second secret on B");
    for (const secret of [first, second]) assert.equal((await requestToken(b.httpUrl, "orders", secret, { resource: FILES })).status, 200);
    const removed = await clients(b, ["remove-secret", "orders", firstId]);
    assert.equal(removed.code, 0, removed.stderr);
    await until(() => (a.context.clients.get("orders")?.secretDigests.length === 1 ? true : undefined), "removal on A");
    assert.equal((await requestToken(a.httpUrl, "orders", first, { resource: FILES })).status, 401);
    assert.equal((await requestToken(a.httpUrl, "orders", second, { resource: FILES })).status, 200);

    const disabled = await clients(a, ["update", "orders", "--enabled", "false"]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /enabled: +no/);
    await until(() => (b.context.clients.get("orders") === undefined ? true : undefined), "disabled on B");
    assert.equal((await requestToken(b.httpUrl, "orders", second, { resource: FILES })).status, 401);
  });

  test("list and get show file clients as read-only; JSON for scripts", async () => {
    const listed = await clients(b, ["list", "--json"], "reader");
    assert.equal(listed.code, 0, listed.stderr);
    const ids = (JSON.parse(listed.stdout) as { clientId: string }[]).map((c) => c.clientId);
    for (const id of ["admin", "filed", "orders"]) assert.ok(ids.includes(id), id);
    const got = await clients(a, ["get", "filed"], "reader");
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /filed {2}\(from the configuration file, read-only\)/);
  });

  test("refusals: exit 1 with the server's code and message; missing credentials are a usage error", async () => {
    const readOnly = await clients(a, ["delete", "orders"], "reader");
    assert.equal(readOnly.code, 1);
    assert.match(readOnly.stderr, /refused client "reader" a token .*tessera\.clients\.write.*invalid_scope/);
    const fileClient = await clients(a, ["delete", "filed"]);
    assert.equal(fileClient.code, 1);
    assert.match(fileClient.stderr, /InvalidArgument: client_id: client "filed" comes from the configuration file/);
    const badScope = await clients(a, ["create", "bad", "--grant", `${FILES}=no"quote`]);
    assert.equal(badScope.code, 1);
    assert.match(badScope.stderr, /InvalidArgument: client\.grants\[0\]\.scopes\[0\]: /);
    const noSecret = await tessera(["clients", "list", "--url", a.httpUrl, "--client-id", "admin"]);
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /TESSERA_ADMIN_CLIENT_SECRET/);
    const deleted = await clients(b, ["delete", "orders"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await clients(a, ["get", "orders"])).code, 1);
  });
});
