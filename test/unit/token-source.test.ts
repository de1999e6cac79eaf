import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { TokenSource, type TokenFetcher } from "../../src/token-source/token-source.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

/** A fetcher that answers from the test, counting requests; `fail` makes it reject. */
function scriptedFetcher(lifetime = 300) {
  const requests: { audience: string; scopes: readonly string[] }[] = [];
  let fail = false;
  let pending: (() => void)[] = [];
  let hold = false;
  const fetch: TokenFetcher = async (request) => {
    requests.push(request);
    if (hold) await new Promise<void>((resolve) => pending.push(resolve));
    if (fail) throw new TemporarilyUnavailableError("token service down");
    return { accessToken: `token-${requests.length}`, expiresIn: lifetime };
  };
  return {
    fetch,
    requests,
    setFail: (v: boolean) => (fail = v),
    hold: () => (hold = true),
    release: () => {
      hold = false;
      pending.forEach((r) => r());
      pending = [];
    },
  };
}

describe("TokenSource", () => {
  test("single-flight: concurrent cold callers share one request", async () => {
    const f = scriptedFetcher();
    const source = new TokenSource({ fetch: f.fetch, clock: new FrozenClock() });
    f.hold();
    const all = Array.from({ length: 1000 }, () => source.get("aud", ["a"]));
    f.release();
    const tokens = await Promise.all(all);
    assert.equal(f.requests.length, 1);
    assert.ok(tokens.every((t) => t === "token-1"));
  });

  test("keyed by audience and scope set (order and duplicates do not matter)", async () => {
    const f = scriptedFetcher();
    const source = new TokenSource({ fetch: f.fetch, clock: new FrozenClock() });
    assert.equal(await source.get("aud", ["b", "a"]), await source.get("aud", ["a", "b", "a"]));
    assert.notEqual(await source.get("aud", ["a"]), await source.get("aud", ["a", "b"]));
    assert.notEqual(await source.get("other", ["a"]), await source.get("aud", ["a"]));
    assert.deepEqual(f.requests[0], { audience: "aud", scopes: ["a", "b"] });
  });

  test("refreshed ahead in the background between 65% and 75% of the lifetime; the old token serves meanwhile", async () => {
    const f = scriptedFetcher(300);
    const clock = new FrozenClock();
    const source = new TokenSource({ fetch: f.fetch, clock, random: () => 0.5 });
    assert.equal(await source.get("aud", []), "token-1");
    clock.advance(200); // 67%: before 0.75 − 0.05 = 70%
    assert.equal(await source.get("aud", []), "token-1");
    assert.equal(f.requests.length, 1);
    clock.advance(15); // 71.7%: refresh due
    f.hold();
    assert.equal(await source.get("aud", []), "token-1", "served while the refresh runs");
    assert.equal(f.requests.length, 2);
    f.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await source.get("aud", []), "token-2");
  });

  test("a failed refresh keeps the cached token until shortly before expiry, then the failure reaches the caller", async () => {
    const f = scriptedFetcher(300);
    const clock = new FrozenClock();
    const source = new TokenSource({ fetch: f.fetch, clock, random: () => 0 });
    await source.get("aud", []);
    f.setFail(true);
    clock.advance(250);
    assert.equal(await source.get("aud", []), "token-1");
    clock.advance(40); // 290 s: within the 10 s expiry margin
    await assert.rejects(source.get("aud", []), TemporarilyUnavailableError);
    f.setFail(false);
    assert.equal(await source.get("aud", []), `token-${f.requests.length}`);
  });

  test("invalidate drops only the token it names", async () => {
    const f = scriptedFetcher();
    const source = new TokenSource({ fetch: f.fetch, clock: new FrozenClock() });
    const first = await source.get("aud", ["a"]);
    source.invalidate("aud", ["a"], "some-other-token");
    assert.equal(await source.get("aud", ["a"]), first);
    source.invalidate("aud", ["a"], first);
    assert.equal(await source.get("aud", ["a"]), "token-2");
  });

  test("short lifetimes: the margin is at most a tenth of the lifetime", async () => {
    const f = scriptedFetcher(2);
    const clock = new FrozenClock();
    const source = new TokenSource({ fetch: f.fetch, clock });
    await source.get("aud", []);
    clock.advance(1.7);
    assert.equal(await source.get("aud", []), "token-1");
    clock.advance(0.15); // 1.85 s > 2 − 0.2
    assert.equal(await source.get("aud", []), "token-2");
  });
});
