import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, generateSecret } from "jose";
import { ConfigError } from "../../src/config/config-error.js";
import { DEFAULTS } from "../../src/config/defaults.js";
import { DEMO_AUDIENCE, DEMO_CLIENT_ID, DEMO_SCOPES, devModeConfig } from "../../src/server/dev-mode.js";
import { generateClientSecret, hashClientSecret } from "../../src/registry/client-secret.js";
import { loadConfigFile, secretResolver } from "../../src/config/load.js";
import { validateConfig, type EnvOverrides, type SecretResolver } from "../../src/config/validate.js";
import type { TesseraConfig } from "../../src/config/types.js";
import { InvalidClientError } from "../../src/errors/tessera-error.js";
import { authenticateClient } from "../../src/issuer/client-authentication/authenticate-client.js";
import type { IssuerContext } from "../../src/issuer/issuer-context.js";
import { StaticClientRegistry } from "../../src/registry/client-registry.js";
import { registeredClient } from "../../src/registry/registered-client.js";
import { secretMatchesDigest } from "../../src/internal/constant-time.js";
import { fixtureContext } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const HASH_A = hashClientSecret("secret-a-0123456789abcdef0123456789abcdef");
const HASH_B = hashClientSecret("secret-b-0123456789abcdef0123456789abcdef");
const HASH_C = hashClientSecret("secret-c-0123456789abcdef0123456789abcdef");
const HMAC_SECRET = "hmac-secret-0123456789abcdef0123456789abcdef";

/** Resolves `env:NAME` from a fixed map; records every reference it was asked for. */
function mapResolver(values: Record<string, string>): SecretResolver & { asked: string[] } {
  const asked: string[] = [];
  const fn = (reference: string, field: string) => {
    asked.push(reference);
    const value = reference.startsWith("env:") ? values[reference.slice(4)] : undefined;
    if (value === undefined) throw new ConfigError(field, `unresolved ${reference}`);
    return value;
  };
  return Object.assign(fn, { asked });
}

const resolver = () => mapResolver({ HMAC: HMAC_SECRET });

function basicClient(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "billing",
    authMethod: "client_secret_basic",
    secretHashes: [HASH_A],
    grants: [{ audience: "https://calendar.example.com", scopes: ["event.view"] }],
    ...extra,
  };
}

function validate(doc: unknown, env: EnvOverrides = {}, resolve: SecretResolver = resolver()): TesseraConfig {
  return validateConfig(doc, env, resolve);
}

/** Asserts that validation fails with a ConfigError naming exactly `field`. */
function rejects(doc: unknown, field: string, env: EnvOverrides = {}, resolve: SecretResolver = resolver()): ConfigError {
  let caught: unknown;
  try {
    validateConfig(doc, env, resolve);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${field}, got ${String(caught)}`);
  assert.equal(caught.field, field, caught.message);
  assert.equal(caught.code, "ERR_CONFIG");
  // The message names the field as written, a client also by its id: `clients[1] (reports).grants[0]`.
  assert.equal(caught.label.replace(/^(clients\[\d+\]) \([\x21-\x7E]+\)/, "$1"), field);
  assert.ok(caught.message.startsWith(`invalid configuration: ${caught.label}: `), caught.message);
  return caught;
}

const clients = (...cs: Record<string, unknown>[]) => ({ clients: cs });

/** The documented listener limits (README "Listeners: timeouts, limits and shutdown"). */
const LIMITS = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  maxConcurrentStreams: 100,
  maxHeaderBytes: 16_384,
};

describe("validateConfig: defaults", () => {
  test("an empty document gives the documented loopback defaults", () => {
    const c = validate({});
    assert.deepEqual(c.http, { host: "127.0.0.1", port: 8080, limits: LIMITS });
    assert.deepEqual(c.grpc, { host: "127.0.0.1", port: 9090, limits: LIMITS, reflection: true });
    assert.deepEqual(c.tokens, { lifetimeSeconds: 300, maxLifetimeSeconds: 3600, maxActorChainDepth: 4 });
    assert.deepEqual(c.signing, { algorithm: "ES256", rotation: { periodSeconds: 604800, leadTimeSeconds: 3600, checkIntervalSeconds: 60 } });
    assert.equal(c.issuer, "http://127.0.0.1:8080");
    assert.deepEqual(c.clients, []);
    assert.equal(c.devMode, false);
    assert.equal(DEFAULTS.tokenLifetimeSeconds, 300);
  });

  test("the issuer is derived from the HTTP listener when not given", () => {
    assert.equal(validate({ http: { host: "localhost", port: 8443 } }).issuer, "http://localhost:8443");
    assert.equal(validate({ http: { port: 18080 } }).issuer, "http://127.0.0.1:18080");
    assert.equal(validate({ issuer: "https://auth.example.com" }).issuer, "https://auth.example.com");
  });

  test("a default lifetime above a lowered maximum is capped to the maximum", () => {
    assert.deepEqual(validate({ tokens: { maxLifetimeSeconds: 120 } }).tokens, { lifetimeSeconds: 120, maxLifetimeSeconds: 120, maxActorChainDepth: 4 });
  });

  test("client defaults: client_credentials only, no extra audiences, no introspection", () => {
    const [c] = validate(clients(basicClient())).clients;
    assert.ok(c);
    assert.deepEqual(c.grantTypes, ["client_credentials"]);
    assert.deepEqual(c.audiences, []);
    assert.equal(c.introspection, false);
    assert.equal(c.tokenLifetimeSeconds, undefined);
    assert.deepEqual(c.secretHashes, [HASH_A]);
    assert.equal(c.jwtSecret, undefined);
    assert.equal(c.jwks, undefined);
  });

  test("an explicit empty grantTypes list is kept empty (not widened to the default)", () => {
    assert.deepEqual(validate(clients(basicClient({ grantTypes: [] }))).clients[0]!.grantTypes, []);
    assert.deepEqual(validate(clients(basicClient({ grantTypes: ["urn:ietf:params:oauth:grant-type:jwt-bearer"] }))).clients[0]!.grantTypes, [
      "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ]);
  });

  test("a client_secret_jwt client holds the resolved secret, not the reference", () => {
    const r = resolver();
    const c = validate(clients({ id: "signer", authMethod: "client_secret_jwt", jwtSecret: "env:HMAC", grants: [] }), {}, r).clients[0]!;
    assert.equal(c.jwtSecret, HMAC_SECRET);
    assert.deepEqual(r.asked, ["env:HMAC"]);
  });
});

describe("validateConfig: environment overrides", () => {
  test("TESSERA_HTTP_PORT / HOST override the file and the derived issuer follows", () => {
    const c = validate({ http: { host: "127.0.0.1", port: 1234 } }, { TESSERA_HTTP_PORT: "18080", TESSERA_HTTP_HOST: "localhost" });
    assert.deepEqual(c.http, { host: "localhost", port: 18080, limits: LIMITS });
    assert.equal(c.issuer, "http://localhost:18080");
  });

  test("TESSERA_GRPC_PORT / HOST override the file", () => {
    const c = validate({ grpc: { port: 1 } }, { TESSERA_GRPC_PORT: "19090", TESSERA_GRPC_HOST: "0.0.0.0" });
    assert.deepEqual(c.grpc, { host: "0.0.0.0", port: 19090, limits: LIMITS, reflection: true });
  });

  test("TESSERA_ISSUER overrides the file's issuer", () => {
    assert.equal(validate({ issuer: "https://a.example.com" }, { TESSERA_ISSUER: "https://b.example.com" }).issuer, "https://b.example.com");
  });

  test("TESSERA_TOKEN_LIFETIME, TESSERA_SIGNING_ALG and TESSERA_SIGNING_KEY_FILE override the file", () => {
    const c = validate(
      { tokens: { lifetimeSeconds: 60 }, signing: { algorithm: "RS256", keyFile: "/a.pem" } },
      { TESSERA_TOKEN_LIFETIME: "120", TESSERA_SIGNING_ALG: "EdDSA", TESSERA_SIGNING_KEY_FILE: "/b.pem" },
    );
    assert.equal(c.tokens.lifetimeSeconds, 120);
    assert.deepEqual({ algorithm: c.signing.algorithm, keyFile: c.signing.keyFile }, { algorithm: "EdDSA", keyFile: "/b.pem" });
  });

  test("a bad override is named by its variable", () => {
    rejects({}, "TESSERA_HTTP_PORT", { TESSERA_HTTP_PORT: "70000" });
    rejects({}, "TESSERA_HTTP_PORT", { TESSERA_HTTP_PORT: "80a" });
    rejects({}, "TESSERA_GRPC_PORT", { TESSERA_GRPC_PORT: "-1" });
    rejects({}, "TESSERA_SIGNING_ALG", { TESSERA_SIGNING_ALG: "none" });
    rejects({}, "TESSERA_SIGNING_ALG", { TESSERA_SIGNING_ALG: "HS256" });
    rejects({}, "TESSERA_TOKEN_LIFETIME", { TESSERA_TOKEN_LIFETIME: "3601" });
    rejects({}, "TESSERA_TOKEN_LIFETIME", { TESSERA_TOKEN_LIFETIME: "0" });
    rejects({}, "TESSERA_ISSUER", { TESSERA_ISSUER: "https://auth.example.com/?tenant=a" });
  });
});

describe("validateConfig: every bad field is named", () => {
  test("unknown fields, at every level", () => {
    rejects({ issuers: "https://x.example.com" }, "issuers");
    rejects({ http: { prot: 1 } }, "http.prot");
    rejects({ grpc: { tls: { certFile: "a", keyFile: "b", caFile: "c" } } }, "grpc.tls.caFile");
    rejects({ tokens: { lifetime: 60 } }, "tokens.lifetime");
    rejects({ signing: { alg: "ES256" } }, "signing.alg");
    rejects(clients(basicClient({ secret: "plain" })), "clients[0].secret");
    rejects(clients(basicClient({ grants: [{ audience: "a", scopes: [], scope: "x" }] })), "clients[0].grants[0].scope");
  });

  test("authMethod must be one of the four methods", () => {
    rejects(clients(basicClient({ authMethod: "client_secret" })), "clients[0].authMethod");
    rejects(clients(basicClient({ authMethod: "none" })), "clients[0].authMethod");
    rejects(clients(basicClient({ authMethod: "Client_Secret_Basic" })), "clients[0].authMethod");
    const { authMethod: _, ...noMethod } = basicClient();
    rejects(clients(noMethod), "clients[0].authMethod");
  });

  test("secretHashes is required for client_secret_basic and client_secret_post", () => {
    const { secretHashes: _, ...noHashes } = basicClient();
    rejects(clients(noHashes), "clients[0].secretHashes");
    rejects(clients({ ...noHashes, authMethod: "client_secret_post" }), "clients[0].secretHashes");
  });

  test("credentials of another method are refused", () => {
    rejects(clients(basicClient({ jwks: { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] } })), "clients[0].jwks");
    rejects(clients(basicClient({ jwtSecret: "env:HMAC" })), "clients[0].jwtSecret");
    rejects(
      clients({ id: "k", authMethod: "private_key_jwt", jwks: { keys: [{ kty: "EC" }] }, secretHashes: [HASH_A], grants: [] }),
      "clients[0].secretHashes",
    );
    rejects(clients({ id: "k", authMethod: "private_key_jwt", grants: [] }), "clients[0].jwks");
    rejects(clients({ id: "s", authMethod: "client_secret_jwt", grants: [] }), "clients[0].jwtSecret");
  });

  test("a secret hash must be sha256:<43 base64url characters>", () => {
    const hex = `sha256:${"ab".repeat(32)}`;
    rejects(clients(basicClient({ secretHashes: [hex] })), "clients[0].secretHashes[0]");
    rejects(clients(basicClient({ secretHashes: ["the-secret-itself-0123456789abcdef0123456789"] })), "clients[0].secretHashes[0]");
    rejects(clients(basicClient({ secretHashes: [`sha512:${HASH_A.slice(7)}`] })), "clients[0].secretHashes[0]");
    rejects(clients(basicClient({ secretHashes: [HASH_A.slice(0, -1)] })), "clients[0].secretHashes[0]");
    rejects(clients(basicClient({ secretHashes: [`${HASH_A}=`] })), "clients[0].secretHashes[0]");
    rejects(clients(basicClient({ secretHashes: [HASH_A.replace(/.$/, "+")] })), "clients[0].secretHashes[0]");
    rejects(clients(basicClient({ secretHashes: [HASH_A, "sha256:short"] })), "clients[0].secretHashes[1]");
  });

  test("one or two secret hashes, never zero or three", () => {
    assert.deepEqual(validate(clients(basicClient({ secretHashes: [HASH_A, HASH_B] }))).clients[0]!.secretHashes, [HASH_A, HASH_B]);
    rejects(clients(basicClient({ secretHashes: [HASH_A, HASH_B, HASH_C] })), "clients[0].secretHashes");
    rejects(clients(basicClient({ secretHashes: [] })), "clients[0].secretHashes");
    rejects(clients(basicClient({ secretHashes: HASH_A })), "clients[0].secretHashes");
  });

  test("jwtSecret must be an env: or file: reference, never the secret itself (which is not echoed)", () => {
    const r = resolver();
    const err = rejects(clients({ id: "s", authMethod: "client_secret_jwt", jwtSecret: HMAC_SECRET, grants: [] }), "clients[0].jwtSecret", {}, r);
    assert.ok(!err.message.includes(HMAC_SECRET), "the literal secret is not in the message");
    assert.deepEqual(r.asked, [], "a literal secret is never passed to the resolver");
  });

  test("jwtSecret must resolve to at least 32 bytes (bytes, not characters)", () => {
    const short = "s".repeat(31);
    const r = mapResolver({ SHORT: short, EXACT: "s".repeat(32), EURO_SHORT: "€".repeat(10), EURO_OK: "€".repeat(11) });
    const doc = (ref: string) => clients({ id: "s", authMethod: "client_secret_jwt", jwtSecret: ref, grants: [] });
    const err = rejects(doc("env:SHORT"), "clients[0].jwtSecret", {}, r);
    assert.ok(!err.message.includes(short), "the short secret is not in the message");
    assert.equal(validate(doc("env:EXACT"), {}, r).clients[0]!.jwtSecret, "s".repeat(32));
    rejects(doc("env:EURO_SHORT"), "clients[0].jwtSecret", {}, r); // 10 chars, 30 bytes
    assert.equal(validate(doc("env:EURO_OK"), {}, r).clients[0]!.jwtSecret, "€".repeat(11)); // 11 chars, 33 bytes
  });

  test("an unresolvable jwtSecret reference is named", () => {
    rejects(clients({ id: "s", authMethod: "client_secret_jwt", jwtSecret: "env:NOT_SET", grants: [] }), "clients[0].jwtSecret", {}, secretResolver({}));
  });

  test("a private key member in a client's jwks is refused, naming the member", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const pub = await exportJWK(publicKey);
    const priv = await exportJWK(privateKey);
    assert.ok(priv.d, "the exported private JWK has d");
    const keyed = (keys: unknown[]) => clients({ id: "k", authMethod: "private_key_jwt", jwks: { keys }, grants: [] });
    assert.equal(validate(keyed([pub])).clients[0]!.jwks!.keys.length, 1);
    rejects(keyed([priv]), "clients[0].jwks.keys[0].d");
    rejects(keyed([pub, priv]), "clients[0].jwks.keys[1].d");
    const oct = await exportJWK(await generateSecret("HS256", { extractable: true }));
    rejects(keyed([oct]), "clients[0].jwks.keys[0].k");
    const rsa = await exportJWK((await generateKeyPair("RS256", { extractable: true })).privateKey);
    rejects(keyed([rsa]), "clients[0].jwks.keys[0].d");
    rejects(keyed([]), "clients[0].jwks.keys");
    rejects(keyed([{ x: "no kty" }]), "clients[0].jwks.keys[0]");
  });

  test("client ids are unique and printable", () => {
    rejects(clients(basicClient(), basicClient()), "clients[1].id");
    rejects(clients(basicClient({ id: "a" }), basicClient({ id: "b" }), basicClient({ id: "a" })), "clients[2].id");
    rejects(clients(basicClient({ id: "two words" })), "clients[0].id");
    rejects(clients(basicClient({ id: "" })), "clients[0].id");
    // Exact strings: a different case is a different client.
    assert.equal(validate(clients(basicClient({ id: "a" }), basicClient({ id: "A" }))).clients.length, 2);
  });

  test("a client grants an audience once", () => {
    rejects(
      clients(
        basicClient({
          grants: [
            { audience: "https://calendar.example.com", scopes: ["a"] },
            { audience: "https://calendar.example.com", scopes: ["b"] },
          ],
        }),
      ),
      "clients[0].grants[1].audience",
    );
    rejects(clients(basicClient({ grants: [{ audience: "two words", scopes: [] }] })), "clients[0].grants[0].audience");
    rejects(clients(basicClient({ grants: [{ scopes: [] }] })), "clients[0].grants[0].audience");
    rejects(clients(basicClient({ grants: { audience: "a", scopes: [] } })), "clients[0].grants");
  });

  test("scopes must be RFC 6749 §3.3 scope tokens", () => {
    const withScopes = (scopes: unknown[]) => clients(basicClient({ grants: [{ audience: "a", scopes }] }));
    assert.deepEqual(validate(withScopes(["event.view", "x:y/z!#~"])).clients[0]!.grants[0]!.scopes, ["event.view", "x:y/z!#~"]);
    rejects(withScopes(["event view"]), "clients[0].grants[0].scopes[0]");
    rejects(withScopes(["ok", 'event"view']), "clients[0].grants[0].scopes[1]");
    rejects(withScopes(["ok", "ok2", "event\\view"]), "clients[0].grants[0].scopes[2]");
    rejects(withScopes(["event\tview"]), "clients[0].grants[0].scopes[0]");
    rejects(withScopes(["événement"]), "clients[0].grants[0].scopes[0]");
    rejects(withScopes([""]), "clients[0].grants[0].scopes[0]");
    rejects(withScopes([42]), "clients[0].grants[0].scopes[0]");
  });

  test("the issuer is an http(s) URL without query or fragment (RFC 8414 §2)", () => {
    rejects({ issuer: "https://auth.example.com/?tenant=a" }, "issuer");
    rejects({ issuer: "https://auth.example.com/#frag" }, "issuer");
    rejects({ issuer: "https://auth.example.com/?" }, "issuer"); // an empty query is still a query
    rejects({ issuer: "https://auth.example.com#" }, "issuer"); // an empty fragment is still a fragment
    rejects({ issuer: "auth.example.com" }, "issuer");
    rejects({ issuer: "ftp://auth.example.com" }, "issuer");
    rejects({ issuer: "" }, "issuer");
    assert.equal(validate({ issuer: "https://auth.example.com/tenant/a" }).issuer, "https://auth.example.com/tenant/a");
  });

  test("a client's tokenLifetimeSeconds may not exceed tokens.maxLifetimeSeconds", () => {
    rejects(clients(basicClient({ tokenLifetimeSeconds: 3601 })), "clients[0].tokenLifetimeSeconds");
    rejects({ tokens: { maxLifetimeSeconds: 600 }, ...clients(basicClient({ tokenLifetimeSeconds: 601 })) }, "clients[0].tokenLifetimeSeconds");
    assert.equal(
      validate({ tokens: { maxLifetimeSeconds: 600 }, ...clients(basicClient({ tokenLifetimeSeconds: 600 })) }).clients[0]!.tokenLifetimeSeconds,
      600,
    );
    rejects(clients(basicClient({ tokenLifetimeSeconds: 0 })), "clients[0].tokenLifetimeSeconds");
    rejects(clients(basicClient({ tokenLifetimeSeconds: 1.5 })), "clients[0].tokenLifetimeSeconds");
    rejects({ tokens: { lifetimeSeconds: 601, maxLifetimeSeconds: 600 } }, "tokens.lifetimeSeconds");
  });

  test("ports must be integers from 0 to 65535", () => {
    rejects({ http: { port: 65536 } }, "http.port");
    rejects({ http: { port: -1 } }, "http.port");
    rejects({ grpc: { port: 99999 } }, "grpc.port");
    rejects({ grpc: { port: 80.5 } }, "grpc.port");
    rejects({ grpc: { port: true } }, "grpc.port");
    assert.equal(validate({ http: { port: 0 }, grpc: { port: 65535 } }).grpc.port, 65535);
  });

  test("other typed fields", () => {
    rejects({ signing: { algorithm: "none" } }, "signing.algorithm");
    rejects({ signing: { algorithm: "HS256" } }, "signing.algorithm");
    rejects({ clients: { id: "a" } }, "clients");
    rejects({ http: "127.0.0.1:8080" }, "http");
    rejects({ http: { tls: { certFile: "a" } } }, "http.tls.keyFile");
    rejects(clients(basicClient({ introspection: "yes" })), "clients[0].introspection");
    rejects(clients(basicClient({ grantTypes: ["password"] })), "clients[0].grantTypes[0]");
    rejects(clients(basicClient({ audiences: ["ok", 3] })), "clients[0].audiences[1]");
    rejects({ clients: ["billing"] }, "clients[0]");
  });
});

describe("validateConfig: messages an operator can act on", () => {
  const message = (doc: unknown, env: EnvOverrides = {}) => {
    try {
      validate(doc, env);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.message;
    }
    assert.fail("expected a ConfigError");
  };

  test("a client is named by its id as well as its index", () => {
    const doc = clients(basicClient({ id: "billing" }), basicClient({ id: "reports", grants: [{ audience: "", scopes: [] }] }));
    assert.equal(message(doc), "invalid configuration: clients[1] (reports).grants[0].audience: must be a non-empty string");
    const err = rejects(doc, "clients[1].grants[0].audience");
    assert.equal(err.label, "clients[1] (reports).grants[0].audience");
    // No usable id: the index alone.
    assert.equal(message(clients(basicClient({ id: "two words" }))), "invalid configuration: clients[0].id: must be printable ASCII without spaces");
  });

  test("a misspelt field is refused with the nearest known field", () => {
    const { secretHashes, ...rest } = basicClient();
    assert.equal(
      message(clients({ ...rest, secretHash: secretHashes })),
      "invalid configuration: clients[0] (billing).secretHash: unknown field; did you mean `secretHashes`?",
    );
    assert.equal(message({ http: { prot: 1 } }), "invalid configuration: http.prot: unknown field; did you mean `port`?");
    assert.equal(message({ Issuer: "https://a.example" }), "invalid configuration: Issuer: unknown field; did you mean `issuer`?");
    assert.equal(message({ signing: { alg: "ES256" } }), "invalid configuration: signing.alg: unknown field; did you mean `algorithm`?");
  });

  test("an unknown field with nothing near is refused as unknown; another method's credential as not used", () => {
    assert.equal(message({ telemetry: true }), "invalid configuration: telemetry: unknown field");
    assert.equal(message({ redis: { url: "redis://a:1", db: 1 }, issuer: "https://a.example" }), "invalid configuration: redis.db: unknown field");
    assert.equal(
      message(clients(basicClient({ jwtSecret: "env:HMAC" }))),
      "invalid configuration: clients[0] (billing).jwtSecret: is not used by client_secret_basic",
    );
  });

  test("no message repeats the value it refuses", () => {
    const SECRET = "s3cr3t-VALUE-0123456789abcdef0123456789";
    const docs: unknown[] = [
      { issuer: `https://a.example/?k=${SECRET}` },
      { issuer: SECRET },
      { http: { port: SECRET } },
      { http: { host: 7, port: 1 }, issuer: SECRET },
      { signing: { algorithm: SECRET } },
      { tokens: { lifetimeSeconds: SECRET } },
      clients(basicClient({ authMethod: SECRET })),
      clients(basicClient({ secretHashes: [SECRET] })),
      clients(basicClient({ id: `a b ${SECRET}` })),
      clients(basicClient({ grants: [{ audience: `a ${SECRET}`, scopes: [] }] })),
      clients(basicClient({ grants: [{ audience: "a", scopes: [`a ${SECRET}`] }] })),
      clients({ id: "s", authMethod: "client_secret_jwt", jwtSecret: SECRET }),
      { issuer: "https://a.example", redis: { url: `redis://:${SECRET}@h:1/x` } },
      { issuer: "https://a.example", redis: { url: `redis//user:${SECRET}@host` } },
      { issuer: "https://a.example", redis: { cluster: ["a:1"], password: SECRET } },
      { issuer: "https://a.example", redis: { url: "redis://a:1", keyPrefix: `{${SECRET}}` } },
      { trustedIssuers: [{ issuer: "x", jwksUri: `http://${SECRET}.example`, subjects: [{ subject: "s", clientId: "c" }] }] },
    ];
    for (const doc of docs) assert.ok(!message(doc).includes(SECRET), message(doc));
    assert.ok(!message({}, { TESSERA_HTTP_PORT: SECRET }).includes(SECRET));
    assert.ok(!message({}, { REDIS_URL: `http://:${SECRET}@h` }).includes(SECRET));
  });

  test("a defaulted issuer is refused with Redis (replicas) or on a wildcard address, with what to set", () => {
    const redisUrl = "redis://127.0.0.1:6390";
    assert.match(message({ redis: { url: redisUrl } }), /^invalid configuration: issuer: must be set when Redis is configured.*set issuer, or TESSERA_ISSUER/);
    rejects({}, "issuer", { REDIS_URL: redisUrl });
    for (const host of ["0.0.0.0", "::"]) {
      assert.match(message({ http: { host } }), /^invalid configuration: issuer: must be set when http.host is a wildcard address/);
      rejects({}, "issuer", { TESSERA_HTTP_HOST: host });
    }
    // Set, in the file or the environment: fine.
    assert.equal(validate({ issuer: "https://auth.example.com", http: { host: "0.0.0.0" }, redis: { url: redisUrl } }).issuer, "https://auth.example.com");
    assert.equal(validate({ http: { host: "::" } }, { TESSERA_ISSUER: "https://auth.example.com", REDIS_URL: redisUrl }).issuerFromListener, false);
    // One process on loopback, or dev mode without Redis: the listener's URL is the issuer.
    assert.equal(validate({}).issuerFromListener, true);
    assert.equal(devModeConfig({ TESSERA_HTTP_HOST: "0.0.0.0" }).config.issuer, "http://0.0.0.0:8080");
    assert.throws(
      () => devModeConfig({ REDIS_URL: redisUrl }),
      (err: unknown) => err instanceof ConfigError && err.field === "issuer",
    );
  });

  test("tokens.maxLifetimeSeconds caps every lifetime: one hour by default, at most one day", () => {
    assert.equal(DEFAULTS.maxTokenLifetimeSeconds, 3600);
    assert.equal(validate({}).tokens.maxLifetimeSeconds, 3600);
    rejects({ tokens: { maxLifetimeSeconds: 86_401 } }, "tokens.maxLifetimeSeconds");
    assert.match(
      message(clients(basicClient({ tokenLifetimeSeconds: 7200 }))),
      /clients\[0\] \(billing\)\.tokenLifetimeSeconds: must not exceed tokens\.maxLifetimeSeconds \(3600\)/,
    );
    rejects({}, "TESSERA_TOKEN_LIFETIME", { TESSERA_TOKEN_LIFETIME: "7200" });
  });

  test("signing.rotation.leadTimeSeconds follows a short period when not given, and may not exceed it", () => {
    assert.equal(validate({ signing: { rotation: { periodSeconds: 3600 } } }).signing.rotation.leadTimeSeconds, 3600);
    rejects({ signing: { rotation: { periodSeconds: 3600, leadTimeSeconds: 3601 } } }, "signing.rotation.leadTimeSeconds");
  });
});

describe("loadConfigFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-config-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const secretFile = join(dir, "hmac.secret");
  writeFileSync(secretFile, `${HMAC_SECRET}\n`);

  test("reads a YAML file, resolves a file: secret (trailing newline trimmed) and an env: secret, applies env overrides", () => {
    const path = join(dir, "tessera.yaml");
    writeFileSync(
      path,
      [
        "issuer: https://auth.example.com",
        "http:",
        "  port: 8081",
        "tokens:",
        "  lifetimeSeconds: 120",
        "clients:",
        "  - id: billing",
        "    authMethod: client_secret_basic",
        `    secretHashes: ["${HASH_A}", "${HASH_B}"]`,
        "    grants:",
        "      - audience: https://calendar.example.com",
        "        scopes: [event.view, event.create]",
        "  - id: signer",
        "    authMethod: client_secret_jwt",
        `    jwtSecret: file:${secretFile}`,
        "    grants: []",
        "  - id: signer2",
        "    authMethod: client_secret_jwt",
        "    jwtSecret: env:MY_HMAC",
        "",
      ].join("\n"),
    );
    const c = loadConfigFile(path, { TESSERA_GRPC_PORT: "19999", MY_HMAC: "e".repeat(40) });
    assert.equal(c.issuer, "https://auth.example.com");
    assert.equal(c.http.port, 8081);
    assert.equal(c.grpc.port, 19999);
    assert.equal(c.tokens.lifetimeSeconds, 120);
    assert.equal(c.clients.length, 3);
    assert.deepEqual(c.clients[0]!.secretHashes, [HASH_A, HASH_B]);
    assert.deepEqual(c.clients[0]!.grants, [{ audience: "https://calendar.example.com", scopes: ["event.view", "event.create"] }]);
    assert.equal(c.clients[1]!.jwtSecret, HMAC_SECRET);
    assert.equal(c.clients[2]!.jwtSecret, "e".repeat(40));
  });

  test("reads a JSON file", () => {
    const path = join(dir, "tessera.json");
    writeFileSync(
      path,
      JSON.stringify({
        grpc: { port: 0 },
        clients: [
          { id: "reporter", authMethod: "client_secret_post", secretHashes: [HASH_C], grants: [{ audience: "a", scopes: ["x"] }], introspection: true },
        ],
      }),
    );
    const c = loadConfigFile(path, {});
    assert.equal(c.grpc.port, 0);
    assert.equal(c.issuer, "http://127.0.0.1:8080");
    assert.equal(c.clients[0]!.id, "reporter");
    assert.equal(c.clients[0]!.authMethod, "client_secret_post");
    assert.equal(c.clients[0]!.introspection, true);
  });

  test("an empty file gives the defaults", () => {
    const path = join(dir, "empty.yaml");
    writeFileSync(path, "");
    assert.equal(loadConfigFile(path, {}).http.port, 8080);
  });

  test("an unreadable file says why (the operating system's reason)", () => {
    assert.throws(
      () => loadConfigFile(join(dir, "missing.yaml"), {}),
      (err: unknown) => err instanceof ConfigError && / \(ENOENT\)$/.test(err.message),
    );
    assert.throws(
      () => loadConfigFile(dir, {}),
      (err: unknown) => err instanceof ConfigError && / \(EISDIR\)$/.test(err.message),
    );
    const path = join(dir, "secret-is-dir.yaml");
    writeFileSync(path, `clients:\n  - id: s\n    authMethod: client_secret_jwt\n    jwtSecret: file:${dir}\n`);
    assert.throws(
      () => loadConfigFile(path, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.field === "clients[0].jwtSecret" &&
        err.message.startsWith("invalid configuration: clients[0] (s).jwtSecret: cannot read") &&
        err.message.endsWith("(EISDIR)"),
    );
  });

  test("a missing or unparsable file is a ConfigError on --config", () => {
    for (const [path, text] of [
      [join(dir, "missing.yaml"), undefined],
      [join(dir, "broken.yaml"), "clients: [\n  - id: a\n  bad"],
      [join(dir, "dup.yaml"), "issuer: https://a.example.com\nissuer: https://b.example.com\n"],
    ] as const) {
      if (text !== undefined) writeFileSync(path, text);
      assert.throws(
        () => loadConfigFile(path, {}),
        (err: unknown) => err instanceof ConfigError && err.field === "--config",
        path,
      );
    }
  });

  test("a validation error inside a file names the field", () => {
    const path = join(dir, "bad.yaml");
    writeFileSync(path, "clients:\n  - id: a\n    authMethod: client_secret_basic\n    secretHashes: [nope]\n");
    assert.throws(
      () => loadConfigFile(path, {}),
      (err: unknown) => err instanceof ConfigError && err.field === "clients[0].secretHashes[0]",
    );
  });

  test("an unreadable file: secret and an unset env: secret name the jwtSecret field", () => {
    const path = join(dir, "missing-secret.yaml");
    writeFileSync(path, `clients:\n  - id: s\n    authMethod: client_secret_jwt\n    jwtSecret: file:${join(dir, "nope.secret")}\n`);
    assert.throws(
      () => loadConfigFile(path, {}),
      (err: unknown) => err instanceof ConfigError && err.field === "clients[0].jwtSecret",
    );
    const path2 = join(dir, "missing-env.yaml");
    writeFileSync(path2, "clients:\n  - id: s\n    authMethod: client_secret_jwt\n    jwtSecret: env:TESSERA_TEST_UNSET\n");
    assert.throws(
      () => loadConfigFile(path2, {}),
      (err: unknown) => err instanceof ConfigError && err.field === "clients[0].jwtSecret",
    );
  });

  test("a short secret in a file: reference is refused", () => {
    const short = join(dir, "short.secret");
    writeFileSync(short, "too-short\n");
    const path = join(dir, "short.yaml");
    writeFileSync(path, `clients:\n  - id: s\n    authMethod: client_secret_jwt\n    jwtSecret: file:${short}\n`);
    assert.throws(
      () => loadConfigFile(path, {}),
      (err: unknown) => err instanceof ConfigError && err.field === "clients[0].jwtSecret" && !err.message.includes("too-short"),
    );
  });
});

describe("devModeConfig", () => {
  test("one demo client, devMode true, the documented defaults", () => {
    const { config } = devModeConfig({});
    assert.equal(config.devMode, true);
    assert.equal(config.clients.length, 1);
    const [demo] = config.clients;
    assert.equal(demo!.id, DEMO_CLIENT_ID);
    assert.equal(demo!.authMethod, "client_secret_basic");
    assert.equal(demo!.introspection, true);
    assert.deepEqual(demo!.grants, [{ audience: DEMO_AUDIENCE, scopes: DEMO_SCOPES }]);
    assert.deepEqual(config.http, { host: "127.0.0.1", port: 8080, limits: LIMITS });
    assert.equal(config.issuer, "http://127.0.0.1:8080");
  });

  test("the printed secret has ≥ 256 bits and only its hash is kept", () => {
    const { config, demoSecret } = devModeConfig({});
    assert.match(demoSecret, /^[A-Za-z0-9_-]{43,}$/);
    assert.ok(Buffer.from(demoSecret, "base64url").length >= 32, "at least 32 random bytes");
    assert.deepEqual(config.clients[0]!.secretHashes, [hashClientSecret(demoSecret)]);
    assert.ok(!JSON.stringify(config).includes(demoSecret), "the plain secret is not in the configuration");
    assert.notEqual(devModeConfig({}).demoSecret, demoSecret, "a new secret every time");
    assert.match(generateClientSecret(), /^[A-Za-z0-9_-]{43}$/);
  });

  test("the printed secret authenticates the demo client; another does not", async () => {
    const { config, demoSecret } = devModeConfig({});
    const client = registeredClient(config.clients[0]!);
    assert.ok(client.secretDigests.some((d) => secretMatchesDigest(demoSecret, d)));
    // The fixture context's stores and keys, with the dev-mode clients.
    const ctx: IssuerContext = { ...(await fixtureContext(new FrozenClock())).ctx, issuer: config.issuer, clients: new StaticClientRegistry(config.clients) };
    const ok = await authenticateClient(ctx, { basic: { clientId: DEMO_CLIENT_ID, clientSecret: demoSecret } });
    assert.equal(ok.client.id, DEMO_CLIENT_ID);
    assert.equal(ok.method, "client_secret_basic");
    await assert.rejects(authenticateClient(ctx, { basic: { clientId: DEMO_CLIENT_ID, clientSecret: devModeConfig({}).demoSecret } }), InvalidClientError);
  });

  test("environment overrides apply in dev mode", () => {
    const { config } = devModeConfig({ TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0", TESSERA_ISSUER: "http://localhost:1" });
    assert.equal(config.http.port, 0);
    assert.equal(config.grpc.port, 0);
    assert.equal(config.issuer, "http://localhost:1");
  });

  test("hashClientSecret is sha256:<base64url> of the UTF-8 secret, accepted by validation", () => {
    assert.equal(hashClientSecret("abc"), "sha256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    assert.equal(validate(clients(basicClient({ secretHashes: [hashClientSecret("x")] }))).clients.length, 1);
  });
});
