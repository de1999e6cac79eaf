// Issue 17, the token service's side: two credentials where one is expected (two `authorization`
// headers or metadata entries, a header plus a query token) over raw HTTP/1.1, h2c and gRPC; per-client
// introspection and revocation rates (memory, Redis shared by two servers, failing open); and the
// client address behind trusted proxies, with forged headers from an untrusted peer.
import assert from "node:assert/strict";
import { connect as connectH2 } from "node:http2";
import { connect as connectTcp } from "node:net";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import type { TesseraConfig } from "../../src/config/types.js";
import { KeyLayout } from "../../src/store/redis/key-layout.js";
import { fastFailOptions } from "../../src/store/redis/redis-client.js";
import { RedisRateLimiter } from "../../src/store/redis/rate-limiter.js";
import type { TesseraServer, TesseraServerOptions } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { basicAuthorization, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { startHeaderInjectingProxy, type HeaderInjectingProxy } from "../helpers/header-injecting-proxy.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { grpcJsClient } from "../helpers/grpc-client.js";
import { callFails, connectApi, grpcJsApi, type TokenServiceApi } from "../helpers/token-service-clients.js";

const CALENDAR = "https://calendar.example.com";
const billing = basicAuthorization("billing", SECRETS.basic);
const billingWrong = basicAuthorization("billing", "not-the-secret-0123456789abcdef0123456789abcdef");
const calendar = basicAuthorization("calendar", SECRETS.other);
const NO_CLIENT_LIMITS = { introspections: 0, revocations: 0, windowSeconds: 60 };

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startServer(change: Partial<TesseraConfig> = {}, options: Partial<TesseraServerOptions> = {}): Promise<TesseraServer> {
  const { config } = await fixtureConfig({ issuerFromListener: true });
  const server = await startCapturedServer({ ...options, config: { ...config, ...change } });
  cleanups.push(() => server.stop());
  return server;
}

function api<T extends TokenServiceApi>(made: T): T {
  cleanups.push(() => made.close());
  return made;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request written byte for byte on its own connection (so that headers can repeat). */
function rawHttp1(base: string, lines: readonly string[], body = "", localAddress?: string): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: url.hostname, port: Number(url.port), ...(localAddress ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.once("error", reject);
    socket.once("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: text.slice(end + 4) });
    });
    const head = [...lines, `Host: ${url.host}`, `Content-Length: ${Buffer.byteLength(body)}`, "Connection: close"];
    socket.write(`${head.join("\r\n")}\r\n\r\n${body}`); // no half-close: the server closes after answering
  });
}

function oauthRequest(path: string, authorizations: readonly string[], form: string): [string[], string] {
  return [[`POST ${path} HTTP/1.1`, "Content-Type: application/x-www-form-urlencoded", ...authorizations.map((a) => `Authorization: ${a}`)], form];
}

/** One HTTP/2 request through `proxy` with node:http2 (the proxy adds the repeated header). */
function h2Request(proxy: HeaderInjectingProxy, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = connectH2(`http://${proxy.address}`);
    session.once("error", reject);
    const req = session.request({ ":method": "POST", ...headers });
    let status = 0;
    const chunks: Buffer[] = [];
    req.once("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("error", reject);
    req.once("end", () => {
      session.close();
      resolve({ status, headers: {}, body: Buffer.concat(chunks).toString("utf8") });
    });
    req.end(body);
  });
}

const OAUTH_FORMS = (token: string): [string, string][] => [
  ["/oauth2/token", `grant_type=client_credentials&resource=${encodeURIComponent(CALENDAR)}`],
  ["/oauth2/introspect", `token=${token}`],
  ["/oauth2/revoke", `token=${token}`],
];

describe("two credentials where one is expected: invalid_request, never one of them picked", () => {
  let server: TesseraServer;
  let token: string;
  before(async () => {
    server = await startServer();
    const issued = await api(grpcJsApi(server.grpcAddress)).issueToken({ resource: CALENDAR }, billing);
    token = issued.accessToken;
  });

  test("OAuth endpoints over raw HTTP/1.1: two Authorization headers (both valid, or one of each) → 400", async () => {
    for (const [path, form] of OAUTH_FORMS(token)) {
      const one = path === "/oauth2/introspect" ? calendar : billing;
      for (const pair of [
        [one, one],
        [one, billingWrong],
        [billingWrong, one],
      ]) {
        const r = await rawHttp1(server.httpUrl, ...oauthRequest(path, pair, form));
        assert.equal(r.status, 400, `${path}: ${r.body}`);
        assert.equal(JSON.parse(r.body).error, "invalid_request", path);
      }
      const single = await rawHttp1(server.httpUrl, ...oauthRequest(path, [one], form));
      assert.equal(single.status, 200, `${path} with one header: ${single.body}`);
    }
  });

  test("OAuth endpoints: a header plus access_token in the query → 400 invalid_request", async () => {
    for (const [path, form] of OAUTH_FORMS(token)) {
      const one = path === "/oauth2/introspect" ? calendar : billing;
      const r = await rawHttp1(server.httpUrl, ...oauthRequest(`${path}?access_token=${token}`, [one], form));
      assert.equal(r.status, 400, path);
      assert.equal(JSON.parse(r.body).error, "invalid_request");
      assert.ok(!r.body.includes(token), "the token is not echoed");
    }
  });

  test("OAuth endpoints over h2c: a second authorization field → 400 invalid_request", async () => {
    const proxy = await startHeaderInjectingProxy(new URL(server.httpUrl).host, [["authorization", billing]]);
    cleanups.push(() => proxy.close());
    for (const [path, form] of OAUTH_FORMS(token)) {
      const one = path === "/oauth2/introspect" ? calendar : billing;
      const r = await h2Request(proxy, { ":path": path, "content-type": "application/x-www-form-urlencoded", authorization: one }, form);
      assert.equal(r.status, 400, `${path}: ${r.body}`);
      assert.equal(JSON.parse(r.body).error, "invalid_request");
    }
    const plain = await startHeaderInjectingProxy(new URL(server.httpUrl).host, []);
    cleanups.push(() => plain.close());
    const ok = await h2Request(
      plain,
      { ":path": "/oauth2/token", "content-type": "application/x-www-form-urlencoded", authorization: billing },
      OAUTH_FORMS(token)[0]![1],
    );
    assert.equal(ok.status, 200, "one authorization through the same kind of proxy is fine");
  });

  test("Connect over raw HTTP/1.1: two authorization headers, or one plus access_token in the query → invalid_argument", async () => {
    const rpc = (path: string, authorizations: readonly string[]) =>
      rawHttp1(
        server.httpUrl,
        [`POST ${path} HTTP/1.1`, "Content-Type: application/json", ...authorizations.map((a) => `Authorization: ${a}`)],
        JSON.stringify({ resource: CALENDAR }),
      );
    const twice = await rpc("/tessera.v1.TokenService/IssueToken", [billing, billing]);
    assert.equal(twice.status, 400, twice.body);
    assert.equal(JSON.parse(twice.body).code, "invalid_argument");
    const query = await rpc(`/tessera.v1.TokenService/IssueToken?access_token=${token}`, [billing]);
    assert.equal(query.status, 400, query.body);
    assert.equal(JSON.parse(query.body).code, "invalid_argument");
    assert.equal((await rpc("/tessera.v1.TokenService/IssueToken", [billing])).status, 200);
  });

  test("TokenService RPCs over grpc-js and Connect h2c: a second authorization entry → INVALID_ARGUMENT", async () => {
    const grpcProxy = await startHeaderInjectingProxy(server.grpcAddress, [["authorization", billing]]);
    const httpProxy = await startHeaderInjectingProxy(new URL(server.httpUrl).host, [["authorization", billing]]);
    cleanups.push(
      () => grpcProxy.close(),
      () => httpProxy.close(),
    );
    const apis = [
      api(grpcJsApi(grpcProxy.address, "grpc-js → grpc listener")),
      api(connectApi(`http://${httpProxy.address}`, "grpc")),
      api(connectApi(`http://${httpProxy.address}`, "connect-h2")),
    ];
    for (const client of apis) {
      for (const [name, call] of [
        ["IssueToken", () => client.issueToken({ resource: CALENDAR }, billing)],
        ["Introspect", () => client.introspect({ token }, calendar)],
        ["Revoke", () => client.revoke({ token }, billing)],
      ] as const) {
        const err = await callFails(client, call());
        assert.equal(err.code, 3, `${client.name} ${name}: ${err.message}`);
        assert.equal(err.detail?.error, "invalid_request");
      }
    }
    const direct = api(grpcJsApi(server.grpcAddress));
    assert.ok((await direct.issueToken({ resource: CALENDAR }, billing)).accessToken, "one entry is fine");
  });
});

describe("per-client introspection and revocation rates", () => {
  test("over the limit: 429 + Retry-After over HTTP, RESOURCE_EXHAUSTED over gRPC; other clients unaffected; the count is per client, not per transport", async () => {
    const server = await startServer({ rateLimit: { failures: 10, windowSeconds: 60, perClient: { introspections: 3, revocations: 2, windowSeconds: 60 } } });
    const grpc = api(grpcJsApi(server.grpcAddress));
    const { accessToken } = await grpc.issueToken({ resource: CALENDAR }, billing);
    const introspect = (auth: string) => rawHttp1(server.httpUrl, ...oauthRequest("/oauth2/introspect", [auth], `token=${accessToken}`));

    assert.equal((await introspect(calendar)).status, 200);
    assert.equal((await grpc.introspect({ token: accessToken }, calendar)).active, true);
    assert.equal((await introspect(calendar)).status, 200);
    const limited = await introspect(calendar);
    assert.equal(limited.status, 429, limited.body);
    assert.equal(JSON.parse(limited.body).error, "slow_down");
    const retryAfter = Number(limited.headers["retry-after"]);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const err = await callFails(grpc, grpc.introspect({ token: accessToken }, calendar));
    assert.equal(err.code, 8, "RESOURCE_EXHAUSTED");

    // Revocations: billing's own, two per window; reporter's count is its own.
    const revoke = (auth: string) => rawHttp1(server.httpUrl, ...oauthRequest("/oauth2/revoke", [auth], "token=garbage"));
    assert.equal((await revoke(billing)).status, 200);
    await grpc.revoke({ token: "garbage" }, billing);
    assert.equal((await revoke(billing)).status, 429);
    assert.equal((await callFails(grpc, grpc.revoke({ token: "garbage" }, billing))).code, 8);
    const byReporter = await rawHttp1(server.httpUrl, ...oauthRequest("/oauth2/revoke", [], `token=garbage&client_id=reporter&client_secret=${SECRETS.post}`));
    assert.equal(byReporter.status, 200, "another client has its own budget");
    assert.equal((await revoke(billingWrong)).status, 401, "an unauthenticated request is not counted against the client, nor told about its rate");
  });

  test("limits of 0 are off", async () => {
    const server = await startServer({ rateLimit: { failures: 10, windowSeconds: 60, perClient: NO_CLIENT_LIMITS } });
    for (let i = 0; i < 20; i++) assert.equal((await rawHttp1(server.httpUrl, ...oauthRequest("/oauth2/revoke", [billing], "token=x"))).status, 200);
  });

  describe("in Redis", () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedisServer();
      cleanups.push(() => redis.destroy());
    });

    test("two servers sharing one Redis share each client's count", async () => {
      const { config } = await fixtureConfig({ issuerFromListener: true });
      const shared = {
        redis: { ...redisConfigOf(redis), keyPrefix: "hardening-shared:" },
        rateLimit: { ...config.rateLimit, perClient: { introspections: 100, revocations: 3, windowSeconds: 60 } },
      };
      const kek = { id: "hardening-kek", key: randomBytes(32) };
      const a = await startServer(shared, { kek });
      const b = await startServer(shared, { kek });
      const revoke = (server: TesseraServer) => rawHttp1(server.httpUrl, ...oauthRequest("/oauth2/revoke", [billing], "token=garbage"));
      assert.equal((await revoke(a)).status, 200);
      assert.equal((await revoke(b)).status, 200);
      assert.equal((await revoke(a)).status, 200);
      const fourth = await revoke(b);
      assert.equal(fourth.status, 429, "the fourth revocation, on the other server, is over the shared limit");
      assert.ok(Number(fourth.headers["retry-after"]) >= 1);
    });

    test("fails open: with the limiter's Redis down, requests go on", async () => {
      const down = await startRedisServer();
      const client = new Redis(down.url, fastFailOptions(500));
      client.on("error", () => {});
      cleanups.push(() => client.disconnect());
      await new Promise((resolve) => client.once("ready", resolve));
      await down.destroy();
      const rateLimiter = new RedisRateLimiter(client, new KeyLayout("hardening-down:"), { commandTimeoutMs: 500 });
      const server = await startServer(
        { rateLimit: { failures: 10, windowSeconds: 60, perClient: { introspections: 1, revocations: 1, windowSeconds: 60 } } },
        { rateLimiter },
      );
      for (let i = 0; i < 3; i++) assert.equal((await rawHttp1(server.httpUrl, ...oauthRequest("/oauth2/revoke", [billing], "token=garbage"))).status, 200);
    });
  });
});

function redisConfigOf(redis: RedisServer): NonNullable<TesseraConfig["redis"]> {
  return { url: redis.url, keyPrefix: "tessera:", waitReplicas: 0, waitTimeoutMs: 500, commandTimeoutMs: 2000 };
}

describe("failed-authentication throttling behind trusted proxies", () => {
  const throttled = { rateLimit: { failures: 2, windowSeconds: 60, perClient: NO_CLIENT_LIMITS } };
  const tokenForm = `grant_type=client_credentials&resource=${encodeURIComponent(CALENDAR)}`;
  const tokenRequest = (server: TesseraServer, auth: string, forwarded: readonly string[], localAddress: string) =>
    rawHttp1(
      server.httpUrl,
      [`POST /oauth2/token HTTP/1.1`, "Content-Type: application/x-www-form-urlencoded", `Authorization: ${auth}`, ...forwarded],
      tokenForm,
      localAddress,
    );

  test("from a trusted proxy, the forwarded client (rightmost untrusted hop) is throttled, not the proxy", async () => {
    const server = await startServer({ ...throttled, trustedProxies: ["127.0.0.1/32", "10.0.0.0/8"] });
    const via = (xff: string) => [`X-Forwarded-For: ${xff}`];
    // 203.0.113.5 fails twice; the leftmost entries are whatever the client wrote and change nothing.
    assert.equal((await tokenRequest(server, billingWrong, via("198.51.100.1, 203.0.113.5"), "127.0.0.1")).status, 401);
    assert.equal((await tokenRequest(server, billingWrong, via("198.51.100.2, 203.0.113.5, 10.1.2.3"), "127.0.0.1")).status, 401);
    const blocked = await tokenRequest(server, billing, via("198.51.100.3, 203.0.113.5"), "127.0.0.1");
    assert.equal(blocked.status, 429, "the client behind the proxy is blocked");
    assert.equal((await tokenRequest(server, billing, via("203.0.113.6"), "127.0.0.1")).status, 200, "another client behind the same proxy is not");
    assert.equal((await tokenRequest(server, billing, [], "127.0.0.1")).status, 200, "nor the proxy's own requests");
  });

  test("from an untrusted peer, forged X-Forwarded-For and Forwarded headers change nothing", async () => {
    const server = await startServer({ ...throttled, trustedProxies: ["127.0.0.1"] });
    const forged = (i: number) => [`X-Forwarded-For: 192.0.2.${i}`, `Forwarded: for=192.0.2.${i + 100}`];
    assert.equal((await tokenRequest(server, billingWrong, forged(1), "127.0.0.2")).status, 401);
    assert.equal((await tokenRequest(server, billingWrong, forged(2), "127.0.0.2")).status, 401);
    assert.equal((await tokenRequest(server, billing, forged(3), "127.0.0.2")).status, 429, "a fresh forged address does not escape the peer's block");
    assert.equal((await tokenRequest(server, billing, [], "127.0.0.3")).status, 200, "another peer is not blocked");
  });

  test("by default no proxy is trusted: the peer is throttled whatever it forwards", async () => {
    const server = await startServer(throttled);
    assert.equal((await tokenRequest(server, billingWrong, ["X-Forwarded-For: 192.0.2.1"], "127.0.0.4")).status, 401);
    assert.equal((await tokenRequest(server, billingWrong, ["X-Forwarded-For: 192.0.2.2"], "127.0.0.4")).status, 401);
    assert.equal((await tokenRequest(server, billing, ["X-Forwarded-For: 192.0.2.3"], "127.0.0.4")).status, 429);
  });

  test("Forwarded (RFC 7239) when configured, and gRPC metadata from a trusted proxy", async () => {
    const server = await startServer({ ...throttled, trustedProxies: ["127.0.0.1"], forwardedHeader: "forwarded" });
    const via = (node: string) => [`Forwarded: for=198.51.100.9;proto=http, for=${node}`, "X-Forwarded-For: 192.0.2.77"];
    assert.equal((await tokenRequest(server, billingWrong, via('"[2001:db8::5]:4711"'), "127.0.0.1")).status, 401);
    assert.equal((await tokenRequest(server, billingWrong, via("[2001:db8::6]"), "127.0.0.1")).status, 401, "the same /64");
    assert.equal((await tokenRequest(server, billing, via('"[2001:db8::7]"'), "127.0.0.1")).status, 429);
    assert.equal((await tokenRequest(server, billing, via("192.0.2.10"), "127.0.0.1")).status, 200);
    // The grpc-js listener reads the same header from metadata (as Envoy forwards it).
    const raw = grpcJsClient(TokenService, server.grpcAddress);
    cleanups.push(() => raw.close());
    const viaMeta = (node: string, auth: string) => ({ metadata: { authorization: auth, forwarded: `for=${node}` } });
    await assert.rejects(raw.unary("issueToken", { resource: CALENDAR }, viaMeta("198.51.100.50", billingWrong)), (e: { code?: number }) => e.code === 16);
    await assert.rejects(raw.unary("issueToken", { resource: CALENDAR }, viaMeta("198.51.100.50", billingWrong)), (e: { code?: number }) => e.code === 16);
    await assert.rejects(raw.unary("issueToken", { resource: CALENDAR }, viaMeta("198.51.100.50", billing)), (e: { code?: number }) => e.code === 8);
    assert.ok((await raw.unary("issueToken", { resource: CALENDAR }, viaMeta("198.51.100.51", billing))).accessToken);
  });
});
