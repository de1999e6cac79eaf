// tessera.admin.v1.ClientAdminService on one server (memory registry), through
// real Connect and grpc-js clients: every method, the scopes its proto
// declares, validation that names the field and changes nothing, secret
// rotation, and clients from the file shown but never changed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ClientSource } from "../../gen/tessera/admin/v1/client_admin_service_pb.js";
import { createTesseraServer, type TesseraServer } from "../../src/server/tessera-server.js";
import { ADMIN_AUDIENCE, ADMIN_SECRETS, adminConfig, adminToken, connectAdmin, grpcAdmin, requestToken } from "../helpers/client-admin.js";
import { clientKeyPair } from "../helpers/fixtures.js";
import { grpcStatusDetails, isServiceError } from "../helpers/grpc-client.js";

const FILES = "https://files.example.com";
let server: TesseraServer;
let adminBearer: string;
let readerBearer: string;
let outsiderBearer: string;

before(async () => {
  server = await createTesseraServer({ config: adminConfig() });
  adminBearer = await adminToken(server.httpUrl);
  readerBearer = await adminToken(server.httpUrl, "reader", "tessera.clients.read");
  const outsider = await requestToken(server.httpUrl, "outsider", ADMIN_SECRETS.outsider, { resource: FILES });
  outsiderBearer = outsider.token!;
});
after(() => server.stop());

async function connectFails(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("the call succeeded");
}

function tokenFor(clientId: string, secret: string, audience = FILES, scope = "file.view") {
  return requestToken(server.httpUrl, clientId, secret, { resource: audience, scope });
}

describe("CRUD through Connect", () => {
  test("create returns the secret once; the client gets tokens for its grant at once", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const created = await admin.createClient({ client: { clientId: "svc-a", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    assert.equal(created.client?.clientId, "svc-a");
    assert.equal(created.client?.authMethod, "client_secret_basic");
    assert.deepEqual(created.client?.grantTypes, ["client_credentials"]);
    assert.equal(created.client?.enabled, true);
    assert.equal(created.client?.source, ClientSource.API);
    assert.match(created.clientSecret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(created.client?.secrets.length, 1);
    assert.equal(created.client?.secrets[0]?.secretId, created.secretId);
    // The secret is never shown again.
    const got = await admin.getClient({ clientId: "svc-a" });
    assert.ok(!JSON.stringify(got.client, (_k, v) => (typeof v === "bigint" ? String(v) : v)).includes(created.clientSecret));
    const issued = await tokenFor("svc-a", created.clientSecret);
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
  });

  test("update replaces the fields of the mask: a new grant works, the old one is gone", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const created = await admin.createClient({ client: { clientId: "svc-b", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    const updated = await admin.updateClient({
      client: { clientId: "svc-b", grants: [{ audience: "https://calendar.example.com", scopes: ["event.view"] }], tokenLifetimeSeconds: 120 },
      updateMask: { paths: ["grants", "token_lifetime_seconds"] },
    });
    assert.equal(updated.client?.tokenLifetimeSeconds, 120);
    assert.ok(updated.client!.version > created.client!.version);
    const calendar = await tokenFor("svc-b", created.clientSecret, "https://calendar.example.com", "event.view");
    assert.equal(calendar.status, 200);
    assert.equal(calendar.body.expires_in, 120);
    const files = await tokenFor("svc-b", created.clientSecret);
    assert.equal(files.status, 400);
    assert.equal(files.body.error, "invalid_target");
  });

  test("list pages through file and API clients in id order", async () => {
    const admin = connectAdmin(server.httpUrl, readerBearer);
    const seen: string[] = [];
    let pageToken = "";
    for (let pages = 0; pages < 20; pages++) {
      const page = await admin.listClients({ pageSize: 2, pageToken });
      assert.ok(page.clients.length <= 2);
      seen.push(...page.clients.map((c) => c.clientId));
      pageToken = page.nextPageToken;
      if (pageToken === "") break;
    }
    assert.deepEqual(seen, [...seen].sort());
    for (const id of ["admin", "filed", "outsider", "reader", "svc-a", "svc-b"]) assert.ok(seen.includes(id), id);
  });

  test("delete removes the client: no more tokens, GetClient NOT_FOUND", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const created = await admin.createClient({ client: { clientId: "svc-c", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    await admin.deleteClient({ clientId: "svc-c" });
    assert.equal((await tokenFor("svc-c", created.clientSecret)).status, 401);
    assert.equal((await connectFails(admin.getClient({ clientId: "svc-c" }))).code, Code.NotFound);
  });

  test("a disabled client gets no tokens; enabled again, it does", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const created = await admin.createClient({ client: { clientId: "svc-d", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    await admin.updateClient({ client: { clientId: "svc-d", enabled: false }, updateMask: { paths: ["enabled"] } });
    assert.equal((await tokenFor("svc-d", created.clientSecret)).status, 401);
    await admin.updateClient({ client: { clientId: "svc-d", enabled: true }, updateMask: { paths: ["enabled"] } });
    assert.equal((await tokenFor("svc-d", created.clientSecret)).status, 200);
  });

  test("private_key_jwt: created with a JWKS, no secret; SetClientJwks replaces the keys", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const first = await clientKeyPair();
    const created = await admin.createClient({
      client: { clientId: "svc-keyed", authMethod: "private_key_jwt", jwksJson: JSON.stringify({ keys: [first.publicJwk] }), grants: [{ audience: FILES }] },
    });
    assert.equal(created.clientSecret, "");
    const second = await clientKeyPair("EdDSA");
    const set = await admin.setClientJwks({ clientId: "svc-keyed", jwksJson: JSON.stringify({ keys: [second.publicJwk] }) });
    assert.deepEqual(JSON.parse(set.client!.jwksJson).keys[0].kid, second.publicJwk.kid);
    const uri = await admin.setClientJwks({ clientId: "svc-keyed", jwksUri: "https://keys.example.com/jwks.json" });
    assert.equal(uri.client?.jwksUri, "https://keys.example.com/jwks.json");
    assert.equal(uri.client?.jwksJson, "");
  });
});

describe("CRUD through grpc-js", () => {
  test("create, get, update, add and remove a secret, set keys, list, delete", async () => {
    const admin = grpcAdmin(server.grpcAddress);
    const metadata = { authorization: `Bearer ${adminBearer}` };
    try {
      const created = await admin.unary("createClient", { client: { clientId: "grpc-a", grants: [{ audience: FILES, scopes: ["file.view"] }] } }, { metadata });
      assert.match(created.clientSecret, /^[A-Za-z0-9_-]{43}$/);
      const got = await admin.unary("getClient", { clientId: "grpc-a" }, { metadata });
      assert.equal(got.client?.clientId, "grpc-a");
      const updated = await admin.unary(
        "updateClient",
        { client: { clientId: "grpc-a", introspection: true }, updateMask: { paths: ["introspection"] } },
        { metadata },
      );
      assert.equal(updated.client?.introspection, true);
      const added = await admin.unary("addClientSecret", { clientId: "grpc-a" }, { metadata });
      assert.equal(added.client?.secrets.length, 2);
      const removed = await admin.unary("removeClientSecret", { clientId: "grpc-a", secretId: created.secretId }, { metadata });
      assert.deepEqual(
        removed.client?.secrets.map((s) => s.secretId),
        [added.secretId],
      );
      const keyed = await admin.unary("setClientJwks", { clientId: "grpc-a", jwksUri: "https://keys.example.com/grpc-a.json" }, { metadata });
      assert.equal(keyed.client?.jwksUri, "https://keys.example.com/grpc-a.json");
      const listed = await admin.unary("listClients", {}, { metadata });
      assert.ok(listed.clients.some((c) => c.clientId === "grpc-a"));
      await admin.unary("deleteClient", { clientId: "grpc-a" }, { metadata });
      await assert.rejects(admin.unary("getClient", { clientId: "grpc-a" }, { metadata }), (err) => isServiceError(err) && err.code === 5);
    } finally {
      admin.close();
    }
  });
});

describe("scopes declared in the proto, enforced by Tessera's interceptors", () => {
  test("no token: UNAUTHENTICATED on both transports", async () => {
    assert.equal((await connectFails(connectAdmin(server.httpUrl, undefined).listClients({}))).code, Code.Unauthenticated);
    const admin = grpcAdmin(server.grpcAddress);
    try {
      await assert.rejects(admin.unary("listClients", {}), (err) => isServiceError(err) && err.code === 16);
    } finally {
      admin.close();
    }
  });

  test("read scope: reads pass, writes are PERMISSION_DENIED with tessera.clients.write in the details", async () => {
    const reader = connectAdmin(server.httpUrl, readerBearer);
    await reader.getClient({ clientId: "admin" });
    const refused = await connectFails(reader.createClient({ client: { clientId: "never" } }));
    assert.equal(refused.code, Code.PermissionDenied);
    const admin = grpcAdmin(server.grpcAddress);
    try {
      await assert.rejects(admin.unary("deleteClient", { clientId: "svc-a" }, { metadata: { authorization: `Bearer ${readerBearer}` } }), (err) => {
        assert.ok(isServiceError(err) && err.code === 7);
        const { detail } = grpcStatusDetails(err);
        assert.deepEqual(detail?.requiredScopes, ["tessera.clients.write"]);
        assert.equal(detail?.requiredAudience, ADMIN_AUDIENCE);
        return true;
      });
    } finally {
      admin.close();
    }
    await connectAdmin(server.httpUrl, adminBearer).getClient({ clientId: "svc-a" });
  });

  test("a token for another audience: PERMISSION_DENIED, even for reads", async () => {
    const refused = await connectFails(connectAdmin(server.httpUrl, outsiderBearer).listClients({}));
    assert.equal(refused.code, Code.PermissionDenied);
  });
});

describe("bad input: INVALID_ARGUMENT naming the field, nothing written", () => {
  const cases: { name: string; client: Record<string, unknown>; field: RegExp }[] = [
    { name: "audience with a space", client: { clientId: "bad-1", grants: [{ audience: "two words" }] }, field: /^client\.grants\[0\]\.audience: / },
    {
      name: "scope with a quote",
      client: { clientId: "bad-2", grants: [{ audience: FILES, scopes: ["ok", 'no"quote'] }] },
      field: /^client\.grants\[0\]\.scopes\[1\]: /,
    },
    { name: "empty client id", client: { clientId: "" }, field: /^client\.client_id: / },
    { name: "client id with a space", client: { clientId: "a b" }, field: /^client\.client_id: / },
    { name: "unknown auth method", client: { clientId: "bad-3", authMethod: "password" }, field: /^client\.auth_method: / },
    { name: "unknown grant type", client: { clientId: "bad-4", grantTypes: ["implicit"] }, field: /^client\.grant_types\[0\]: / },
    { name: "lifetime past the maximum", client: { clientId: "bad-5", tokenLifetimeSeconds: 999_999 }, field: /^client\.token_lifetime_seconds: / },
    {
      name: "private key in the JWKS",
      client: { clientId: "bad-6", authMethod: "private_key_jwt", jwksJson: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}' },
      field: /^client\.jwks_json\.keys\[0\]\.k: /,
    },
    {
      name: "cleartext JWKS URL",
      client: { clientId: "bad-7", authMethod: "private_key_jwt", jwksUri: "http://keys.example.com/jwks" },
      field: /^client\.jwks_uri: /,
    },
    { name: "duplicate id of an API client", client: { clientId: "svc-a" }, field: /^client\.client_id: duplicate client id "svc-a"/ },
    { name: "duplicate id of a file client", client: { clientId: "filed" }, field: /^client\.client_id: duplicate client id "filed"/ },
  ];
  for (const { name, client, field } of cases) {
    test(name, async () => {
      const admin = connectAdmin(server.httpUrl, adminBearer);
      const before = await admin.listClients({ pageSize: 500 });
      const err = await connectFails(admin.createClient({ client }));
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, field);
      assert.deepEqual(await admin.listClients({ pageSize: 500 }), before);
    });
  }

  test("an update with one bad grant among good ones changes nothing", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const before = await admin.getClient({ clientId: "svc-a" });
    const err = await connectFails(
      admin.updateClient({
        client: {
          clientId: "svc-a",
          grants: [
            { audience: FILES, scopes: ["file.view"] },
            { audience: FILES, scopes: ["file.edit"] },
          ],
        },
        updateMask: { paths: ["grants"] },
      }),
    );
    assert.equal(err.code, Code.InvalidArgument);
    assert.match(err.rawMessage, /^client\.grants\[1\]\.audience: duplicate audience/);
    assert.deepEqual(await admin.getClient({ clientId: "svc-a" }), before);
  });

  test("an unknown or empty update mask is refused", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    assert.match((await connectFails(admin.updateClient({ client: { clientId: "svc-a" }, updateMask: { paths: ["secrets"] } }))).rawMessage, /^update_mask: /);
    assert.match((await connectFails(admin.updateClient({ client: { clientId: "svc-a" } }))).rawMessage, /^update_mask: /);
  });
});

describe("secret rotation: at most two active", () => {
  test("add a second secret, both work; a third is refused; remove the old one, it stops working", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const created = await admin.createClient({ client: { clientId: "rotating", grants: [{ audience: FILES, scopes: ["file.view"] }] } });
    const added = await admin.addClientSecret({ clientId: "rotating" });
    assert.notEqual(added.clientSecret, created.clientSecret);
    assert.equal((await tokenFor("rotating", created.clientSecret)).status, 200);
    assert.equal((await tokenFor("rotating", added.clientSecret)).status, 200);
    const third = await connectFails(admin.addClientSecret({ clientId: "rotating" }));
    assert.equal(third.code, Code.InvalidArgument);
    assert.match(third.rawMessage, /^client_id: "rotating" has 2 active secrets already/);
    assert.equal((await admin.getClient({ clientId: "rotating" })).client?.secrets.length, 2);
    await admin.removeClientSecret({ clientId: "rotating", secretId: created.secretId });
    assert.equal((await tokenFor("rotating", created.clientSecret)).status, 401);
    assert.equal((await tokenFor("rotating", added.clientSecret)).status, 200);
    const last = await connectFails(admin.removeClientSecret({ clientId: "rotating", secretId: added.secretId }));
    assert.equal(last.code, Code.InvalidArgument);
    assert.match(last.rawMessage, /^secret_id: it is the only secret/);
  });
});

describe("clients from the configuration file", () => {
  test("shown, with their source, and never changed", async () => {
    const admin = connectAdmin(server.httpUrl, adminBearer);
    const filed = await admin.getClient({ clientId: "filed" });
    assert.equal(filed.client?.source, ClientSource.FILE);
    assert.equal(filed.client?.secrets.length, 0);
    const attempts = [
      admin.updateClient({ client: { clientId: "filed", enabled: false }, updateMask: { paths: ["enabled"] } }),
      admin.deleteClient({ clientId: "filed" }),
      admin.addClientSecret({ clientId: "filed" }),
      admin.removeClientSecret({ clientId: "filed", secretId: "x" }),
      admin.setClientJwks({ clientId: "admin", jwksUri: "https://keys.example.com/jwks.json" }),
    ];
    for (const attempt of attempts) {
      const err = await connectFails(attempt);
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, /comes from the configuration file and is read-only here/);
    }
    assert.deepEqual(await admin.getClient({ clientId: "filed" }), filed);
    assert.equal((await requestToken(server.httpUrl, "outsider", ADMIN_SECRETS.outsider, { resource: FILES })).status, 200);
  });
});
