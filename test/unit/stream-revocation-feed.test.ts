// The verifier's side of WatchRevocations and WatchKeys against the contract
// (token_service.proto), with in-process replicas: what a batch does to the
// deny set, cursors on reconnect, failover, silence, and start() while down.
// The same over real token service replicas: test/integration/verifier-streams.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { InvalidTokenError, TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { RemoteKeySet } from "../../src/keys/remote-key-set.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { generateSigningKey, type SigningKey } from "../../src/keys/signing-key.js";
import type { RevocationEvent } from "../../src/store/types.js";
import type { KeySetUpdate, RevocationBatch, TokenServiceStreams } from "../../src/verifier/revocation-stream.js";
import { StreamRevocationFeed } from "../../src/verifier/stream-revocation-feed.js";
import { StreamedKeySet } from "../../src/verifier/streamed-key-set.js";
import { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { until } from "../helpers/wait.js";

const ISS = "https://tessera.example";
const rule = { kind: "bearer", audience: "svc", allOf: [], anyOf: [], source: "method" } as const;

/** A stream the test writes to: push() a message, fail() or end() it. */
class Channel<M> implements AsyncIterable<M> {
  readonly #queue: (M | Error | null)[] = [];
  #wake: (() => void) | undefined;
  constructor(signal: AbortSignal) {
    signal.addEventListener("abort", () => this.fail(new Error("aborted")));
  }
  push(message: M | Error | null): void {
    this.#queue.push(message);
    this.#wake?.();
  }
  fail(error = new Error("the replica went away")): void {
    this.push(error);
  }
  async *[Symbol.asyncIterator](): AsyncIterator<M> {
    for (;;) {
      while (this.#queue.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
      const next = this.#queue.shift()!;
      if (next === null) return;
      if (next instanceof Error) throw next;
      yield next;
    }
  }
}

/** An in-process replica: records the cursor of each WatchRevocations, hands the test each opened stream. */
class Replica implements TokenServiceStreams {
  readonly cursors: string[] = [];
  readonly revocationStreams: Channel<RevocationBatch>[] = [];
  readonly keyStreams: Channel<KeySetUpdate>[] = [];
  down = false;
  constructor(readonly endpoint: string) {}
  watchRevocations(cursor: string, signal: AbortSignal): AsyncIterable<RevocationBatch> {
    if (this.down) return failing();
    this.cursors.push(cursor);
    const channel = new Channel<RevocationBatch>(signal);
    this.revocationStreams.push(channel);
    return channel;
  }
  watchKeys(signal: AbortSignal): AsyncIterable<KeySetUpdate> {
    if (this.down) return failing();
    const channel = new Channel<KeySetUpdate>(signal);
    this.keyStreams.push(channel);
    return channel;
  }
  get lastRevocations(): Channel<RevocationBatch> {
    return this.revocationStreams.at(-1)!;
  }
}

/** A stream that fails at once, as a replica that refuses connections. */
function failing(): AsyncIterable<never> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("connection refused")) }) };
}

function batch(fields: Partial<RevocationBatch>): RevocationBatch {
  return { reset: false, revocations: [], synced: false, cursor: "", heartbeatIntervalMs: 1000, ...fields };
}

/** Awaits a promise that only unref'd timers (the retry waits) lead to, keeping the loop alive meanwhile. */
async function alive<T>(promise: Promise<T>): Promise<T> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(keepAlive);
  }
}

/** An access token of ISS for audience "svc", signed with `key`. */
function accessToken(key: SigningKey, jti: string): Promise<string> {
  return new SignJWT({ client_id: "caller", scope: "" })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" })
    .setIssuer(ISS)
    .setSubject("caller")
    .setAudience("svc")
    .setIssuedAt()
    .setExpirationTime("5m")
    .setJti(jti)
    .sign(key.privateKey);
}

const fast = { minRetryDelayMs: 5, maxRetryDelayMs: 20 };

describe("StreamRevocationFeed (WatchRevocations, against the contract)", () => {
  test("a snapshot spanning batches loads on synced; heartbeats and deltas keep it current; stop ends the stream", async () => {
    const replica = new Replica("http://a");
    const feed = new StreamRevocationFeed({ sources: [replica], ...fast });
    const events: RevocationEvent[] = [];
    let synced = 0;
    const subscribed = feed.subscribe((e) => events.push(e), { onSynced: () => synced++ });
    await until(() => replica.revocationStreams.length || undefined, "the stream to open");
    replica.lastRevocations.push(batch({ reset: true, revocations: [{ kind: "token", issuer: ISS, jti: "t1", expiresAt: 2e9 }] }));
    replica.lastRevocations.push(
      batch({
        revocations: [
          { kind: "key", issuer: ISS, kid: "k1", expiresAt: 2e9 },
          { kind: "client", issuer: ISS, clientId: "c1", issuedBefore: 1000, expiresAt: 2e9 },
        ],
        synced: true,
        cursor: "c-1",
      }),
    );
    const unsubscribe = await subscribed;
    assert.deepEqual(
      events.map((e) => [e.jti, e.issuedBefore]),
      [
        ["t1", undefined],
        ["kid:k1", undefined],
        ["client:c1", 1000],
      ],
    );
    assert.equal(synced, 1);
    replica.lastRevocations.push(batch({ synced: true, cursor: "c-1" }));
    await until(() => (synced === 2 ? true : undefined), "the heartbeat");
    unsubscribe();
    assert.equal(replica.revocationStreams.length, 1);
  });

  test("a broken stream reopens on the next replica with the last cursor; the revocations delivered stay delivered", async () => {
    const a = new Replica("http://a");
    const b = new Replica("http://b");
    const feed = new StreamRevocationFeed({ sources: [a, b], ...fast });
    const events: RevocationEvent[] = [];
    const subscribed = feed.subscribe((e) => events.push(e));
    await until(() => a.revocationStreams.length || undefined, "the stream to open");
    a.lastRevocations.push(batch({ reset: true, revocations: [{ kind: "token", issuer: ISS, jti: "t1", expiresAt: 2e9 }], synced: true, cursor: "a-7" }));
    const unsubscribe = await subscribed;
    a.lastRevocations.fail();
    await until(() => b.revocationStreams.length || undefined, "the failover");
    assert.deepEqual(b.cursors, ["a-7"]);
    b.lastRevocations.push(batch({ revocations: [{ kind: "token", issuer: ISS, jti: "t2", expiresAt: 2e9 }], synced: true, cursor: "b-1" }));
    await until(() => (events.length === 2 ? true : undefined), "the catch-up");
    b.lastRevocations.push(null); // the replica ends the stream: back to a, from b's cursor
    await until(() => (a.revocationStreams.length === 2 ? true : undefined), "the next reopen");
    assert.deepEqual(a.cursors, ["", "b-1"]);
    unsubscribe();
  });

  test("a stream silent past two heartbeats is treated as dead and reopened", async () => {
    const a = new Replica("http://a");
    const breaks: string[] = [];
    const feed = new StreamRevocationFeed({ sources: [a], ...fast, onBreak: (err) => breaks.push(String(err)) });
    const subscribed = feed.subscribe(() => {});
    await until(() => a.revocationStreams.length || undefined, "the stream to open");
    a.lastRevocations.push(batch({ reset: true, synced: true, cursor: "a-1", heartbeatIntervalMs: 50 }));
    const unsubscribe = await subscribed;
    await until(() => (a.revocationStreams.length === 2 ? true : undefined), "the silent stream to be reopened", 5000);
    assert.match(breaks[0]!, /no message for/);
    assert.deepEqual(a.cursors, ["", "a-1"]);
    unsubscribe();
  });

  test("every replica down: subscribe rejects UNAVAILABLE; the verifier starts anyway, answers UNAVAILABLE, and recovers by itself", async () => {
    const a = new Replica("http://a");
    const b = new Replica("http://b");
    a.down = true;
    b.down = true;
    await assert.rejects(alive(new StreamRevocationFeed({ sources: [a, b], ...fast }).subscribe(() => {})), TemporarilyUnavailableError);

    const key = await generateSigningKey("ES256");
    const verifier = new TokenVerifier({
      issuer: ISS,
      keys: { resolve: async () => key.publicKey },
      revocations: new StreamRevocationFeed({ sources: [a, b], ...fast }),
    });
    await alive(verifier.start());
    assert.equal(verifier.revocationStatus, "loading");
    const token = await accessToken(key, "j1");
    await assert.rejects(verifier.check(`Bearer ${token}`, rule), TemporarilyUnavailableError);
    b.down = false;
    await until(() => b.revocationStreams.length || undefined, "the retry to reach b", 10_000);
    b.lastRevocations.push(batch({ reset: true, revocations: [{ kind: "token", issuer: ISS, jti: "j1", expiresAt: 2e9 }], synced: true, cursor: "b-1" }));
    await alive(verifier.revocationsLoaded());
    assert.equal(verifier.revocationStatus, "current");
    await assert.rejects(verifier.check(`Bearer ${token}`, rule), InvalidTokenError);
    verifier.stop();
  });
});

describe("StreamedKeySet (WatchKeys, against the contract)", () => {
  test("a pushed set replaces the keys; a kid in revoked_kids is refused at once, even for a token verified before", async () => {
    const key = await generateSigningKey("ES256");
    const a = new Replica("http://a");
    let fetches = 0;
    const keySet = new RemoteKeySet({
      fetch: async () => {
        fetches++;
        throw new Error("no JWKS over HTTP here");
      },
    });
    const verifier = new TokenVerifier({ issuer: ISS, keys: new StreamedKeySet({ sources: [a], keys: keySet, ...fast }) });
    const started = verifier.start();
    await until(() => a.keyStreams.length || undefined, "the key stream to open");
    a.keyStreams[0]!.push({ jwks: { keys: [key.publicJwk] }, revokedKids: [], heartbeatIntervalMs: 1000 });
    await started;
    const token = await accessToken(key, "j1");
    assert.equal((await verifier.check(`Bearer ${token}`, rule))?.clientId, "caller");
    assert.equal(fetches, 0);
    a.keyStreams[0]!.push({ jwks: { keys: [key.publicJwk] }, revokedKids: [key.kid], heartbeatIntervalMs: 1000 });
    await until(() => (keySet.isRevoked(key.kid) ? true : undefined), "the revoked kid");
    await assert.rejects(verifier.check(`Bearer ${token}`, rule), /signing key has been revoked/);
    verifier.stop();
  });
});

describe("remoteVerifier with credentials", () => {
  const credentials = { clientId: "calendar", auth: { method: "client_secret_basic", secret: "s" } } as const;

  test("credentials never cross cleartext to a host that is not loopback, unless allowInsecure", () => {
    assert.throws(() => remoteVerifier({ issuer: "http://tessera.example", credentials }), /cleartext HTTP to http:\/\/tessera.example/);
    assert.throws(() => remoteVerifier({ issuer: ISS, endpoints: ["http://10.0.0.7:8080"], credentials }), /cleartext/);
    assert.throws(() => remoteVerifier({ issuer: ISS, endpoints: ["https://user:pw@tessera.example"], credentials }), /user info/);
    remoteVerifier({ issuer: ISS, endpoints: ["https://tessera.example", "http://127.0.0.1:8080"], credentials });
    remoteVerifier({ issuer: ISS, endpoints: ["http://10.0.0.7:8080"], credentials, allowInsecure: true });
  });

  test("a staleness bound shorter than two heartbeats is refused at construction", () => {
    assert.throws(() => remoteVerifier({ issuer: ISS, credentials, heartbeatMs: 5000, revocationStaleAfterSeconds: 9 }), RangeError);
  });
});
