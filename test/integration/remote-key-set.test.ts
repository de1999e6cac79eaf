import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { httpJwksFetcher, JwksFetchError } from "../../src/keys/http-jwks-fetcher.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { RemoteKeySet } from "../../src/keys/remote-key-set.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

/** A JWKS server on loopback whose answer the test controls, counting requests. */
let mode: "ok" | "error" | "huge" | "hang" | "redirect" | "empty" = "ok";
let keys: JWK[] = [];
let requests = 0;
const sockets = new Set<Socket>();
const server: Server = createServer((_req, res) => {
  requests++;
  if (mode === "hang") return;
  if (mode === "error") return void res.writeHead(500).end();
  if (mode === "redirect") return void res.writeHead(302, { location: "http://127.0.0.1:1/" }).end();
  res.writeHead(200, { "content-type": "application/json" });
  if (mode === "huge") return void res.end(JSON.stringify({ keys, padding: "x".repeat(300 * 1024) }));
  if (mode === "empty") return void res.end(JSON.stringify({ keys: [] }));
  res.end(JSON.stringify({ keys }));
});
server.on("connection", (s: Socket) => {
  sockets.add(s);
  s.once("close", () => sockets.delete(s));
});
let url = "";

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function jwk(kid: string): Promise<JWK> {
  const { publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: "ES256" };
}

describe("RemoteKeySet over a real HTTP JWKS", () => {
  test("unknown kids: at most one fetch per cooldown, even under a flood", async () => {
    mode = "ok";
    keys = [await jwk("k1")];
    requests = 0;
    const clock = new FrozenClock();
    const set = new RemoteKeySet({ fetch: httpJwksFetcher(url), clock, cooldownMs: 30_000 });
    assert.ok(await set.resolve({ alg: "ES256", kid: "k1" }));
    assert.equal(requests, 1);
    const flood = await Promise.all(Array.from({ length: 200 }, (_, i) => set.resolve({ alg: "ES256", kid: `random-${i}` })));
    assert.ok(flood.every((k) => k === undefined));
    assert.equal(requests, 1, "no refetch inside the cooldown");
    clock.advance(31);
    keys = [...keys, await jwk("k2")];
    await Promise.all(Array.from({ length: 50 }, () => set.resolve({ alg: "ES256", kid: "k2" })));
    assert.equal(requests, 2, "one refetch after the cooldown, shared by concurrent callers");
    assert.ok(await set.resolve({ alg: "ES256", kid: "k2" }));
  });

  test("a failed refresh keeps the last good set", async () => {
    mode = "ok";
    keys = [await jwk("good")];
    const clock = new FrozenClock();
    const set = new RemoteKeySet({ fetch: httpJwksFetcher(url), clock, cooldownMs: 1000, maxAgeMs: 60_000 });
    assert.ok(await set.resolve({ alg: "ES256", kid: "good" }));
    mode = "error";
    clock.advance(120);
    requests = 0;
    assert.ok(await set.resolve({ alg: "ES256", kid: "good" }), "stale set used when the refresh fails");
    assert.equal(requests, 1);
    assert.equal(await set.resolve({ alg: "ES256", kid: "other" }), undefined);
  });

  test("no set at all and the source down: temporarily unavailable, never 'unknown key'", async () => {
    mode = "error";
    const set = new RemoteKeySet({ fetch: httpJwksFetcher(url), clock: new FrozenClock() });
    await assert.rejects(set.resolve({ alg: "ES256", kid: "k" }), TemporarilyUnavailableError);
  });

  test("an empty JWK Set is a failed refresh: the last good keys stay in use", async () => {
    mode = "ok";
    keys = [await jwk("kept")];
    const clock = new FrozenClock();
    const set = new RemoteKeySet({ fetch: httpJwksFetcher(url), clock, cooldownMs: 1000, maxAgeMs: 60_000 });
    assert.ok(await set.resolve({ alg: "ES256", kid: "kept" }));
    mode = "empty";
    clock.advance(120);
    requests = 0;
    assert.ok(await set.resolve({ alg: "ES256", kid: "kept" }), "the empty set did not replace the last good one");
    assert.equal(requests, 1, "the refresh was attempted");
    assert.match(String(set.lastError), /no key/);
    mode = "ok";
    clock.advance(120);
    assert.ok(await set.resolve({ alg: "ES256", kid: "kept" }));
    assert.equal(set.lastError, undefined, "a good refresh clears the failure");
  });

  test("an empty JWK Set and no earlier set: temporarily unavailable, the reason kept as the cause", async () => {
    mode = "empty";
    const set = new RemoteKeySet({ fetch: httpJwksFetcher(url), clock: new FrozenClock() });
    const err = await set.resolve({ alg: "ES256", kid: "k" }).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TemporarilyUnavailableError);
    assert.equal(err.message, "the key set cannot be fetched", "callers see no internal detail");
    assert.match(String((err.cause as Error).message), /no key/);
    mode = "ok";
  });

  test("fetch failures name the URL (without credentials or query) and keep the cause", async () => {
    mode = "error";
    const withCredentials = url.replace("http://", "http://user:hunter2@");
    assert.throws(
      () => httpJwksFetcher(withCredentials),
      (e: Error) => /must not hold credentials/.test(e.message) && !/hunter2/.test(e.message),
    );
    const failed = await httpJwksFetcher(`${url}?api_key=secret-in-query`)().then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(failed instanceof JwksFetchError);
    assert.match(failed.message, new RegExp(`${url.replace(/[/.]/g, "\\$&")}.*HTTP 500`));
    assert.doesNotMatch(failed.message, /hunter2|secret-in-query|user/);
    mode = "ok";
    // Nothing listens on this port: the network error code is in the message, the error in `cause`.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const refused = await httpJwksFetcher(`http://127.0.0.1:${closed}/jwks`)().then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof JwksFetchError);
    assert.match(refused.message, new RegExp(`127\\.0\\.0\\.1:${closed}/jwks failed: ECONNREFUSED`));
    assert.ok(refused.cause instanceof Error);
  });

  test("cleartext JWKS from a host that is not loopback is refused unless allowInsecure", () => {
    assert.throws(() => httpJwksFetcher("http://keys.example.com/jwks.json"), /cleartext HTTP to http:\/\/keys\.example\.com\/jwks\.json.*allowInsecure/);
    assert.throws(() => remoteVerifier({ issuer: "http://tessera.example.com" }), /refusing a JWKS fetch over cleartext/);
    assert.throws(() => remoteVerifier({ issuer: "https://tessera.example.com", jwksUrl: "http://10.0.0.7/jwks" }), /cleartext/);
    assert.throws(() => httpJwksFetcher("file:///etc/jwks.json"), /must be https/);
    assert.ok(httpJwksFetcher("https://keys.example.com/jwks.json"));
    assert.ok(httpJwksFetcher("http://[::1]:8080/jwks.json"));
    assert.ok(httpJwksFetcher("http://localhost:8080/jwks.json"));
    assert.ok(httpJwksFetcher("http://keys.example.com/jwks.json", { allowInsecure: true }));
    assert.ok(remoteVerifier({ issuer: "http://tessera.example.com", allowInsecure: true }));
  });

  test("size cap, timeout and redirects are enforced by the fetcher", async () => {
    keys = [await jwk("k")];
    mode = "huge";
    await assert.rejects(httpJwksFetcher(url, { maxBytes: 64 * 1024 })(), /too large/);
    mode = "hang";
    const started = Date.now();
    await assert.rejects(httpJwksFetcher(url, { timeoutMs: 200 })());
    assert.ok(Date.now() - started < 5000);
    mode = "redirect";
    await assert.rejects(httpJwksFetcher(url)());
    mode = "ok";
  });
});

describe("RemoteKeySet: keys found are remembered only as long as their set", () => {
  test("a replaced set never answers with a key of the old one; a removed kid resolves to nothing", async () => {
    const clock = new FrozenClock();
    let current: JWK[] = [await jwk("k1")];
    const set = new RemoteKeySet({ fetch: async () => ({ keys: current }), cooldownMs: 1000, maxAgeMs: 60_000, clock });
    const first = await set.resolve({ kid: "k1", alg: "ES256" });
    assert.ok(first !== undefined);
    assert.equal(await set.resolve({ kid: "k1", alg: "ES256" }), first, "the same key object while the set holds");
    assert.equal(await set.resolve({ kid: "k1", alg: "EdDSA" }), undefined, "remembered by kid and alg together");

    current = [await jwk("k1")]; // the same kid, other key material
    clock.advance(61);
    const second = await set.resolve({ kid: "k1", alg: "ES256" });
    assert.ok(second !== undefined && second !== first);

    current = [await jwk("k2")];
    clock.advance(61);
    assert.equal(await set.resolve({ kid: "k1", alg: "ES256" }), undefined);
  });
});
