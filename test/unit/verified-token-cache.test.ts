import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AccessTokenClaims } from "../../src/verifier/access-token-claims.js";
import { principalOf } from "../../src/verifier/principal.js";
import { VerifiedTokenCache } from "../../src/verifier/verified-token-cache.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const clock = new FrozenClock();

function principal(jti: string, exp = clock.seconds() + 300) {
  const claims: AccessTokenClaims = Object.freeze({
    iss: "https://tessera.example",
    sub: "caller",
    aud: "svc",
    exp,
    iat: clock.seconds(),
    nbf: undefined,
    jti,
    kid: "k1",
    clientId: "caller",
    scopes: ["a"],
    actors: [],
    raw: {},
  });
  return principalOf(claims);
}

/** A token-shaped string: a ~600-character body, then a 86-character "signature". */
const tokenOf = (body: string, signature: string) => `${body.padEnd(600, "x")}.${signature.padStart(86, "s")}`;

describe("VerifiedTokenCache", () => {
  test("a hit is the exact token only: another token ending the same way is a miss", () => {
    const cache = new VerifiedTokenCache(10, clock);
    const verified = tokenOf("header.payload-of-alice", "sig");
    const alice = principal("alice");
    cache.set(verified, alice);
    assert.equal(cache.get(verified, 0), alice);
    assert.equal(cache.get(`${verified}`.slice(0), 0), alice, "the same characters in another string");
    assert.equal(cache.get(tokenOf("header.payload-of-mallory", "sig"), 0), undefined, "same signature, other payload");
    assert.equal(cache.get(verified.slice(1), 0), undefined, "a suffix of the token");
    assert.equal(cache.get(`A${verified.slice(1)}`, 0), undefined, "one character changed at the start");
  });

  test("bounded: the entry inserted longest ago goes first, and the size never passes the bound", () => {
    const cache = new VerifiedTokenCache(3, clock);
    const tokens = Array.from({ length: 10 }, (_, i) => tokenOf(`t${i}`, `sig${i}`));
    for (const [i, token] of tokens.entries()) {
      cache.set(token, principal(`j${i}`));
      assert.ok(cache.size <= 3);
    }
    assert.deepEqual(
      tokens.map((t) => cache.get(t, 0) !== undefined),
      [false, false, false, false, false, false, false, true, true, true],
    );
    // A token verified again (its entry replaced) and tokens that share a key cannot grow it either.
    for (let i = 0; i < 10; i++) cache.set(tokens[9]!, principal("again"));
    for (let i = 0; i < 10; i++) cache.set(tokenOf(`other${i}`, "sig9"), principal(`o${i}`));
    assert.ok(cache.size <= 3);
  });

  test("an expired entry is never served and is dropped on sight; size 0 keeps nothing", () => {
    const cache = new VerifiedTokenCache(5, clock);
    const token = tokenOf("short-lived", "sig");
    cache.set(token, principal("j", clock.seconds() + 10));
    assert.ok(cache.get(token, 0));
    assert.ok(cache.get(token, 30), "within the leeway after exp");
    const later = new VerifiedTokenCache(5, { now: () => clock.now() + 11_000 });
    later.set(token, principal("j", clock.seconds() + 10));
    assert.equal(later.get(token, 0), undefined);
    assert.equal(later.size, 0);
    const none = new VerifiedTokenCache(0, clock);
    none.set(token, principal("j"));
    assert.equal(none.size, 0);
  });
});
