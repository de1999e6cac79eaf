// WatchRevocations and WatchKeys (issue 12), the token service's side: real servers on loopback,
// real grpc-js and connect-node clients, a raw HTTP/2 client that never reads, and real Redis
// shared by two replicas.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connect as http2Connect, constants as h2 } from "node:http2";
import { connect as netConnect } from "node:net";
import { after, before, describe, test } from "node:test";
import type { TesseraConfig } from "../../src/config/types.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import type { WatchRevocationsResponse } from "../../gen/tessera/v1/token_service_pb.js";
import { basicAuthorization, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { grpcJsApi, type TokenServiceApi } from "../helpers/token-service-clients.js";
import { until } from "../helpers/wait.js";
import { connectWatchClient, grpcJsWatchClient, type Watch, type WatchClient } from "../helpers/watch-clients.js";

const Code = { OK: 0, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;
const CALENDAR = "https://calendar.example.com";
/** A resource server (audiences, introspection): may watch. */
const WATCHER = basicAuthorization("calendar", SECRETS.other);
/** Only a caller: may not watch. */
const CALLER = basicAuthorization("billing", SECRETS.basic);

type WatchSettings = TesseraConfig["watch"];
const WATCH: WatchSettings = { heartbeatMs: 300, historySize: 50, maxQueuedPerWatcher: 5, maxWatchers: 1000 };

async function startServer(watch: Partial<WatchSettings> = {}, extra: Partial<TesseraConfig> = {}): Promise<TesseraServer> {
  const { config } = await fixtureConfig();
  return startCapturedServer({ config: { ...config, ...extra, watch: { ...WATCH, ...watch } } });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const jtisOf = (messages: readonly WatchRevocationsResponse[]) =>
  messages.flatMap((m) => m.revocations).flatMap((r) => (r.kind.case === "token" ? [r.kind.value.jti] : []));
const hasToken = (jti: string) => (m: WatchRevocationsResponse) => jtisOf([m]).includes(jti);

/** Clients of every kind against one server, closed in after(). */
function clientsOf(server: TesseraServer): WatchClient[] {
  return [grpcJsWatchClient(server.grpcAddress), connectWatchClient(server.httpUrl, "grpc"), connectWatchClient(server.httpUrl, "connect-h2")];
}

describe("watch streams on one replica (memory store)", () => {
  let server: TesseraServer;
  let clients: WatchClient[];
  let api: TokenServiceApi;
  const watches: Watch<unknown>[] = [];
  const open = <T>(w: Watch<T>): Watch<T> => (watches.push(w as Watch<unknown>), w);

  before(async () => {
    server = await startServer();
    clients = clientsOf(server);
    api = grpcJsApi(server.grpcAddress);
  });
  after(async () => {
    for (const w of watches) w.cancel();
    for (const c of clients) c.close();
    await api.close();
    await server.stop();
  });

  test("a caller that is not a resource server is refused PERMISSION_DENIED; bad credentials UNAUTHENTICATED", async () => {
    for (const client of clients) {
      for (const method of ["watchRevocations", "watchKeys"] as const) {
        const denied = open(client.watch(method, {}, CALLER));
        assert.equal((await denied.end(`${client.name} ${method} refused`)).code, Code.PERMISSION_DENIED, client.name);
        const wrong = open(client.watch(method, {}, basicAuthorization("calendar", "not-the-secret")));
        assert.equal((await wrong.end(`${client.name} ${method} bad secret`)).code, Code.UNAUTHENTICATED, client.name);
        const caller = open(client.watch(method, { client: { clientId: "reporter", clientSecret: SECRETS.post } }));
        assert.equal((await caller.end(`${client.name} ${method} credentials in the request`)).code, Code.PERMISSION_DENIED, client.name);
        const none = open(client.watch(method, {}));
        assert.equal((await none.end(`${client.name} ${method} no credentials`)).code, Code.UNAUTHENTICATED, client.name);
        const forged = open(client.watch(method, {}, "Bearer not.a.token"));
        assert.equal((await forged.end(`${client.name} ${method} bad bearer`)).code, Code.UNAUTHENTICATED, client.name);
        assert.equal(denied.messages.length + wrong.messages.length + none.messages.length + forged.messages.length, 0, "nothing is sent first");
      }
    }
  });

  test("snapshot (reset … synced with a cursor), then each new revocation as it is acknowledged, on every transport", async () => {
    const before = randomUUID();
    await server.context.denyList.revoke(server.issuer, before, nowSeconds() + 300);
    const streams = clients.map((c) => open(c.watch("watchRevocations", {}, WATCHER)));
    for (const s of streams) {
      const first = await s.next(() => true, "the first message");
      assert.equal(first.reset, true, "a snapshot starts with reset");
      const synced = await s.next((m) => m.synced, "the end of the snapshot");
      assert.ok(synced.cursor !== "", "the end of the snapshot carries a cursor");
      assert.ok(jtisOf(s.messages).includes(before), "the snapshot holds the revocation in force");
      assert.equal(first.heartbeatIntervalMs, WATCH.heartbeatMs);
    }
    // Revoke over the API: acknowledged, then on every stream.
    const { accessToken } = await api.issueToken({ resource: CALENDAR, scopes: ["event.view"] }, CALLER);
    await api.revoke({ token: accessToken }, CALLER);
    const jti = JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString()).jti as string;
    for (const s of streams) {
      const delta = await s.next(hasToken(jti), "the new revocation");
      assert.equal(delta.reset, false);
      assert.equal(delta.synced, true);
      assert.notEqual(delta.cursor, "");
    }
  });

  test("a Tessera access token as bearer authenticates a watcher", async () => {
    const { accessToken } = await api.issueToken({ resource: "https://files.example.com", scopes: ["file.view"] }, WATCHER);
    for (const client of clients) {
      const s = open(client.watch("watchRevocations", {}, `Bearer ${accessToken}`));
      await s.next((m) => m.synced, `${client.name}: the snapshot`);
    }
  });

  test("resume from a cursor: only what was missed, no reset; an unknown or too old cursor: a snapshot", async () => {
    for (const client of clients) {
      const first = open(client.watch("watchRevocations", {}, WATCHER));
      const { cursor } = await first.next((m) => m.synced, "the snapshot");
      first.cancel();
      const missed = [randomUUID(), randomUUID()];
      for (const jti of missed) await server.context.denyList.revoke(server.issuer, jti, nowSeconds() + 300);
      const resumed = open(client.watch("watchRevocations", { cursor }, WATCHER));
      const caughtUp = await resumed.next((m) => m.synced, `${client.name}: the catch-up`);
      assert.equal(resumed.messages[0]!.reset, false, "no snapshot");
      assert.deepEqual(jtisOf(resumed.messages.slice(0, resumed.messages.indexOf(caughtUp) + 1)), missed);
      resumed.cancel();

      for (let i = 0; i < WATCH.historySize + 5; i++) await server.context.denyList.revoke(server.issuer, randomUUID(), nowSeconds() + 300);
      const late = open(client.watch("watchRevocations", { cursor: caughtUp.cursor }, WATCHER));
      await late.next((m) => m.synced, `${client.name}: the snapshot after a too old cursor`);
      assert.equal(late.messages[0]!.reset, true, "too old: a snapshot");
      const foreign = open(client.watch("watchRevocations", { cursor: "another-replica.12" }, WATCHER));
      await foreign.next((m) => m.synced, "the snapshot after a foreign cursor");
      assert.equal(foreign.messages[0]!.reset, true, "unknown epoch: a snapshot");
      late.cancel();
      foreign.cancel();
    }
  });

  test("an idle stream gets heartbeats: synced, no revocations, the same cursor", async () => {
    for (const client of clients) {
      const s = open(client.watch("watchRevocations", {}, WATCHER));
      const synced = await s.next((m) => m.synced, "the snapshot");
      const from = s.messages.length;
      const beat = await s.next((m) => m.revocations.length === 0 && m.synced && !m.reset, `${client.name}: a heartbeat`, from, 5000);
      assert.equal(beat.cursor, synced.cursor);
      s.cancel();
      const keys = open(client.watch("watchKeys", {}, WATCHER));
      await keys.next((_m) => keys.messages.length >= 2, `${client.name}: a key-set heartbeat`, 0, 5000);
      keys.cancel();
    }
  });

  test("a client cut-off reaches the watchers", async () => {
    const streams = clients.map((c) => open(c.watch("watchRevocations", {}, WATCHER)));
    for (const s of streams) await s.next((m) => m.synced, "the snapshot");
    const t = nowSeconds();
    await server.context.denyList.revokeClient(server.issuer, "reporter", t, t + 600);
    for (const s of streams) {
      const m = await s.next((m) => m.revocations.some((r) => r.kind.case === "client"), "the cut-off");
      const cut = m.revocations.find((r) => r.kind.case === "client")!.kind.value as { clientId: string; issuedBefore: bigint; issuer: string };
      assert.equal(cut.clientId, "reporter");
      assert.equal(cut.issuedBefore, BigInt(t));
      assert.equal(cut.issuer, server.issuer);
      s.cancel();
    }
  });

  test("an emergency key revocation reaches WatchKeys (revoked_kids, a set without the key) and WatchRevocations", async () => {
    const keys = clients.map((c) => open(c.watch("watchKeys", {}, WATCHER)));
    const revocations = clients.map((c) => open(c.watch("watchRevocations", {}, WATCHER)));
    const initial = await keys[0]!.next(() => true, "the key set");
    for (const r of revocations) await r.next((m) => m.synced, "the snapshot");
    const active = JSON.parse(initial.jwks!.jwksJson).keys.map((k: { kid: string }) => k.kid) as string[];
    assert.ok(active.length >= 1);
    const kid = server.keyManager!.records().find((r) => r.state === "active")!.kid;
    await server.keyManager!.revoke(kid);
    for (const k of keys) {
      const m = await k.next((m) => m.revokedKids.includes(kid), "the revoked kid");
      assert.ok(!m.jwks!.keys.some((key) => key.kid === kid), "the revoked key is no longer published");
    }
    for (const r of revocations) {
      await r.next((m) => m.revocations.some((x) => x.kind.case === "key" && x.kind.value.kid === kid), "the key revocation");
    }
    for (const w of [...keys, ...revocations]) w.cancel();
  });

  test("more watchers than maxWatchers are refused UNAVAILABLE", async () => {
    const small = await startServer({ maxWatchers: 2 });
    const client = grpcJsWatchClient(small.grpcAddress);
    try {
      const a = client.watch("watchRevocations", {}, WATCHER);
      const b = client.watch("watchKeys", {}, WATCHER);
      await a.next((m) => m.synced, "the first watcher");
      await b.next(() => true, "the second watcher");
      const c = client.watch("watchRevocations", {}, WATCHER);
      assert.equal((await c.end("the third watcher refused")).code, Code.UNAVAILABLE);
      a.cancel();
      b.cancel();
    } finally {
      client.close();
      await small.stop();
    }
  });
});

/** A WatchRevocations request on a raw HTTP/2 connection that never reads the response (a window of 1 KiB, never updated). */
function stalledWatcher(url: string) {
  const session = http2Connect(url, { settings: { initialWindowSize: 1024 } });
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": "/tessera.v1.TokenService/WatchRevocations",
    "content-type": "application/grpc",
    te: "trailers",
    authorization: WATCHER,
  });
  stream.on("error", () => {});
  stream.end(Buffer.alloc(5)); // one empty gRPC message: the default request
  stream.pause();
  const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
  return { closed, close: () => session.destroy() };
}

/**
 * A Connect WatchRevocations request over HTTP/1.1 on a raw socket that reads the response head, then
 * nothing until told to resume. The kernel buffers what it can (the receive buffer does not grow while
 * nothing is read; the server's send buffer may grow to a few MiB), so it takes megabytes of
 * revocations to fill them. A paused socket does not notice that the server closed the connection:
 * resume() reads what was buffered and resolves with how the response ended.
 */
function stalledHttp1Watcher(url: string) {
  const { hostname, port } = new URL(url);
  const socket = netConnect(Number(port), hostname);
  socket.on("error", () => {});
  const body = Buffer.alloc(5); // one Connect envelope: flags 0, an empty message (the default request)
  socket.write(
    [
      "POST /tessera.v1.TokenService/WatchRevocations HTTP/1.1",
      `host: ${hostname}:${port}`,
      "content-type: application/connect+proto",
      "connect-protocol-version: 1",
      `authorization: ${WATCHER}`,
      `content-length: ${body.length}`,
      "",
      "",
    ].join("\r\n"),
  );
  socket.write(body);
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
  };
  const answered = new Promise<string>((resolve) => {
    const onHead = (chunk: Buffer) => {
      onData(chunk);
      const text = received.toString("latin1");
      if (!text.includes("\r\n\r\n")) return;
      socket.off("data", onHead);
      socket.pause(); // from here on nothing is read
      resolve(text.slice(0, text.indexOf("\r\n")));
    };
    socket.on("data", onHead);
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    answered,
    /** Reads on; resolves once the connection is closed, with whether the chunked body was ended properly. */
    resume: async (): Promise<{ endedProperly: boolean; bytes: number }> => {
      socket.on("data", onData);
      socket.resume();
      await closed;
      return { endedProperly: received.subarray(-5).toString("latin1") === "0\r\n\r\n", bytes: received.length };
    },
    close: () => socket.destroy(),
  };
}

/** Every healthy watcher got every one of `jtis` and is still connected; then it is cancelled. */
async function everythingReached(streams: Watch<WatchRevocationsResponse>[], jtis: string[]): Promise<void> {
  for (const s of streams) {
    await s.next(hasToken(jtis[jtis.length - 1]!), "the last revocation on a healthy watcher", 0, 30_000);
    assert.deepEqual(new Set(jtisOf(s.messages).filter((j) => j.startsWith("slow-"))), new Set(jtis), "nothing lost for the others");
    assert.equal(s.ended, undefined, "the healthy watcher is still connected");
    s.cancel();
  }
}

describe("a watcher that stops reading", () => {
  test("over Connect on HTTP/1.1 (the http listener serves streams there too) loses its connection once its queue passes the cap; others get everything", async () => {
    const server = await startServer({ maxQueuedPerWatcher: 100 });
    const healthy = [connectWatchClient(server.httpUrl, "connect-h1"), grpcJsWatchClient(server.grpcAddress)];
    const stalled = stalledHttp1Watcher(server.httpUrl);
    try {
      assert.equal(await stalled.answered, "HTTP/1.1 200 OK", "the stream was served over HTTP/1.1");
      const streams = healthy.map((c) => c.watch("watchRevocations", {}, WATCHER));
      for (const s of streams) await s.next((m) => m.synced, "the snapshot");
      // 5000 revocations of 2 KiB (10 MiB): more than the socket buffers can hold (at most 4 MiB of send
      // buffer here, plus the unread receive buffer), so the stalled watcher's queue passes the cap.
      const pad = "x".repeat(2048);
      const jtis: string[] = [];
      for (let i = 0; i < 5000; i++) {
        const jti = `slow-${i}-${pad}`;
        jtis.push(jti);
        await server.context.denyList.revoke(server.issuer, jti, nowSeconds() + 300);
        // Bursts of 50, half the cap: the healthy watchers (in this process) read each before the next.
        if (i % 50 === 49) for (const s of streams) await s.next(hasToken(jti), "a burst on a healthy watcher", Math.max(0, s.messages.length - 50), 30_000);
      }
      // A watcher that was not cut off would get every revocation, then heartbeats, and never be closed.
      const end = await until(() => stalled.resume(), "the stalled HTTP/1.1 connection to be found closed", 30_000);
      assert.equal(end.endedProperly, false, "the response was cut off, not ended");
      assert.ok(end.bytes < jtis.length * pad.length, `it got ${end.bytes} bytes, not every revocation`);
      await everythingReached(streams, jtis);
    } finally {
      stalled.close();
      for (const c of healthy) c.close();
      await server.stop();
    }
  });

  for (const listener of ["grpc", "http"] as const) {
    test(`is reset (ENHANCE_YOUR_CALM, read as RESOURCE_EXHAUSTED) once its queue passes the cap, on the ${listener} listener; others get everything`, async () => {
      const server = await startServer({ maxQueuedPerWatcher: 100 });
      const healthy = [grpcJsWatchClient(server.grpcAddress), connectWatchClient(server.httpUrl, "grpc")];
      const stalled = stalledWatcher(listener === "grpc" ? `http://${server.grpcAddress}` : server.httpUrl);
      try {
        const streams = healthy.map((c) => c.watch("watchRevocations", {}, WATCHER));
        for (const s of streams) await s.next((m) => m.synced, "the snapshot");
        // Bounded: at most 2000 revocations, stopping as soon as the stalled stream is reset.
        const jtis: string[] = [];
        let rst: number | undefined;
        void stalled.closed.then((code) => (rst = code));
        for (let i = 0; i < 2000 && rst === undefined; i++) {
          const jti = `slow-${i}`;
          jtis.push(jti);
          await server.context.denyList.revoke(server.issuer, jti, nowSeconds() + 300);
          // Bursts well under the cap: healthy watchers are pulled between them.
          if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
        }
        assert.equal(await stalled.closed, h2.NGHTTP2_ENHANCE_YOUR_CALM, "the stalled stream is reset");
        await everythingReached(streams, jtis);
      } finally {
        stalled.close();
        for (const c of healthy) c.close();
        await server.stop();
      }
    });
  }
});

describe("shutdown", () => {
  test("ends every stream with UNAVAILABLE at once; the server stops without waiting for them", async () => {
    const server = await startServer({ heartbeatMs: 60_000 });
    const clients = clientsOf(server);
    try {
      const streams = clients.flatMap((c) => [c.watch("watchRevocations", {}, WATCHER), c.watch("watchKeys", {}, WATCHER)]);
      for (const s of streams) await s.next(() => true, "the first message");
      const started = performance.now();
      await server.stop({ graceMs: 10_000 });
      assert.ok(performance.now() - started < 5000, "stop did not wait for the grace period");
      for (const s of streams) assert.equal((await s.end("the stream end")).code, Code.UNAVAILABLE);
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe("two replicas sharing Redis", () => {
  let redis: RedisServer;
  let a: TesseraServer;
  let b: TesseraServer;
  let replica: () => Promise<TesseraServer>;
  let clients: WatchClient[] = [];

  before(async () => {
    redis = await startRedisServer();
    const { config } = await fixtureConfig();
    const shared = { ...config, redis: { ...config.redis, url: redis.url, keyPrefix: `watch-${randomUUID()}:` } } as TesseraConfig;
    replica = () => startCapturedServer({ config: { ...shared, watch: WATCH }, kek: { id: "watch-test", key: Buffer.alloc(32, 7) } });
    a = await replica();
    b = await replica();
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.destroy();
  });

  test("a revocation on one replica reaches watchers of both; a cursor of one resumes on the other with only what was missed", async () => {
    clients = [grpcJsWatchClient(a.grpcAddress), grpcJsWatchClient(b.grpcAddress), connectWatchClient(b.httpUrl, "connect-h2")];
    const streams = clients.map((c) => c.watch("watchRevocations", {}, WATCHER));
    for (const s of streams) await s.next((m) => m.synced, "the snapshot");
    const jti = randomUUID();
    await a.context.denyList.revoke(a.issuer, jti, nowSeconds() + 300);
    for (const s of streams) await s.next(hasToken(jti), "the revocation, whichever replica the watcher is on");
    const cursor = streams[0]!.messages.at(-1)!.cursor;
    streams[0]!.cancel();
    const later = randomUUID();
    await b.context.denyList.revoke(b.issuer, later, nowSeconds() + 300);
    // Both replicas number revocations as the Redis feed does: wait until B has seen the later one.
    await streams[1]!.next(hasToken(later), "the later revocation on replica B");
    const moved = clients[1]!.watch("watchRevocations", { cursor }, WATCHER);
    const caughtUp = await moved.next((m) => m.synced, "the catch-up on the other replica");
    assert.equal(moved.messages[0]!.reset, false, "a cursor of another replica of the same store resumes there");
    assert.deepEqual(jtisOf(moved.messages.slice(0, moved.messages.indexOf(caughtUp) + 1)), [later], "only what was missed");
    assert.equal(caughtUp.cursor, streams[1]!.messages.at(-1)!.cursor, "the same position on both replicas");
    moved.cancel();
    for (const s of streams) s.cancel();
  });

  test("a cursor resumes on a replica restarted since, with only what was missed", async () => {
    const first = grpcJsWatchClient(b.grpcAddress);
    const s = first.watch("watchRevocations", {}, WATCHER);
    const { cursor } = await s.next((m) => m.synced, "the snapshot");
    s.cancel();
    first.close();
    await b.stop();
    b = await replica();
    const missed = randomUUID();
    await a.context.denyList.revoke(a.issuer, missed, nowSeconds() + 300);
    const client = grpcJsWatchClient(b.grpcAddress);
    clients.push(client);
    // The restarted replica learns the revocation from Redis a moment after A acknowledged it.
    const live = client.watch("watchRevocations", {}, WATCHER);
    await live.next(hasToken(missed), "the revocation on the restarted replica");
    live.cancel();
    const resumed = client.watch("watchRevocations", { cursor }, WATCHER);
    const caughtUp = await resumed.next((m) => m.synced, "the catch-up");
    assert.equal(resumed.messages[0]!.reset, false, "no snapshot");
    assert.deepEqual(jtisOf(resumed.messages.slice(0, resumed.messages.indexOf(caughtUp) + 1)), [missed]);
    resumed.cancel();
  });

  test("Redis down: streams end UNAVAILABLE and new ones are refused until it is back", async () => {
    const client = grpcJsWatchClient(a.grpcAddress);
    clients.push(client);
    const s = client.watch("watchRevocations", {}, WATCHER);
    const k = client.watch("watchKeys", {}, WATCHER);
    await s.next((m) => m.synced, "the snapshot");
    await k.next(() => true, "the key set");
    await redis.kill9();
    assert.equal((await s.end("the revocation stream end", 15_000)).code, Code.UNAVAILABLE);
    assert.equal((await k.end("the key stream end", 15_000)).code, Code.UNAVAILABLE);
    const refused = client.watch("watchRevocations", {}, WATCHER);
    assert.equal((await refused.end("a new watcher refused")).code, Code.UNAVAILABLE);
    await redis.start();
    await until(
      async () => {
        const again = client.watch("watchRevocations", {}, WATCHER);
        try {
          await again.next((m) => m.synced, "a snapshot once Redis is back", 0, 2000);
          return true;
        } catch {
          return undefined;
        } finally {
          again.cancel();
        }
      },
      "watching again once Redis is back",
      20_000,
      200,
    );
  });
});
