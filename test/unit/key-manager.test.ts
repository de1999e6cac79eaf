import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { KeyManager } from "../../src/keys/key-manager.js";
import { MemoryKeyRing } from "../../src/keys/key-ring.js";
import { KeyEncryptionError, kekFromEnv, type KeyEncryptionKey } from "../../src/keys/key-sealing.js";
import type { RotationPolicy } from "../../src/keys/rotation-plan.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const DAY = 86_400;
const policy: RotationPolicy = { rotationPeriodSeconds: DAY, leadTimeSeconds: 3600, retainSeconds: 3660 };
const kek = (): KeyEncryptionKey => kekFromEnv({ TESSERA_KEK: randomBytes(32).toString("base64url") })!;

async function manager(ring = new MemoryKeyRing(), clock = new FrozenClock(), key = kek(), onKeyRevoked?: (kid: string) => Promise<void>) {
  const m = await KeyManager.start({ ring, kek: key, algorithm: "ES256", policy, clock, checkIntervalMs: 3_600_000, ...(onKeyRevoked ? { onKeyRevoked } : {}) });
  return { m, ring, clock, key };
}

const states = (m: KeyManager) => m.records().map((r) => r.state).sort();
const kids = (m: KeyManager) => m.publicJwks().map((k) => k.kid).sort();

describe("KeyManager rotation", () => {
  test("an empty ring gets an active key and a standby published beside it", async () => {
    const { m } = await manager();
    try {
      assert.deepEqual(states(m), ["active", "next"]);
      assert.equal(kids(m).length, 2);
      assert.ok(kids(m).includes(m.signingKey().kid));
    } finally {
      m.stop();
    }
  });

  test("the next key signs only when the period is over and it was published for the lead time", async () => {
    const { m, clock } = await manager();
    try {
      const first = m.signingKey().kid;
      const standby = m.records().find((r) => r.state === "next")!.kid;
      clock.advance(DAY - 1);
      await m.tick();
      assert.equal(m.signingKey().kid, first);
      clock.advance(1);
      await m.tick();
      assert.equal(m.signingKey().kid, standby);
      assert.deepEqual(states(m), ["active", "next", "retired"], "the old key stays published; a new standby is published");
      assert.ok(m.verificationKey(first), "tokens of the retired key still verify");
      clock.advance(policy.retainSeconds);
      await m.tick();
      assert.ok(!kids(m).includes(first), "removed once its tokens have expired");
      assert.equal(m.verificationKey(first), undefined);
    } finally {
      m.stop();
    }
  });

  test("rotate on command waits for the lead time of a fresh standby, and is immediate for an old one", async () => {
    const { m, clock } = await manager();
    try {
      const first = m.signingKey().kid;
      await m.rotate();
      assert.equal(m.signingKey().kid, first, "the standby was published just now: it must wait");
      clock.advance(3600);
      await m.tick();
      assert.notEqual(m.signingKey().kid, first);
      const second = m.signingKey().kid;
      clock.advance(7200);
      await m.rotate();
      assert.notEqual(m.signingKey().kid, second, "a standby published for longer than the lead time takes over at once");
    } finally {
      m.stop();
    }
  });

  test("emergency revocation: out of JWKS at once, the standby signs, verifiers are told", async () => {
    const told: string[] = [];
    const { m } = await manager(undefined, undefined, undefined, async (kid) => void told.push(kid));
    try {
      const compromised = m.signingKey().kid;
      const standby = m.records().find((r) => r.state === "next")!.kid;
      await m.revoke(compromised);
      assert.equal(m.signingKey().kid, standby);
      assert.ok(!kids(m).includes(compromised));
      assert.equal(m.verificationKey(compromised), undefined);
      assert.deepEqual(told, [compromised]);
      assert.ok(m.records().some((r) => r.state === "next"), "a new standby is published");
    } finally {
      m.stop();
    }
  });

  test("two replicas on one ring take each step exactly once and agree on the signing key", async () => {
    const ring = new MemoryKeyRing();
    const clock = new FrozenClock();
    const key = kek();
    const a = (await manager(ring, clock, key)).m;
    const b = (await manager(ring, clock, key)).m;
    try {
      assert.equal(a.signingKey().kid, b.signingKey().kid);
      clock.advance(DAY);
      const before = (await ring.read()).version;
      await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
      assert.equal((await ring.read()).version, before + 1, "one promotion, one write");
      await Promise.all([a.reload(), b.reload()]);
      assert.equal(a.signingKey().kid, b.signingKey().kid);
      assert.deepEqual(kids(a), kids(b));
    } finally {
      a.stop();
      b.stop();
    }
  });

  test("a wrong key-encryption key is a clear error at start; sealed records hide the private key", async () => {
    const ring = new MemoryKeyRing();
    const { m } = await manager(ring);
    m.stop();
    await assert.rejects(manager(ring, new FrozenClock(), kek()), (err: unknown) => err instanceof KeyEncryptionError && /wrong TESSERA_KEK/.test(err.message));
    for (const record of (await ring.read()).records) {
      assert.ok(!record.sealed.includes('"d"'));
      assert.ok(!("d" in record.publicJwk));
    }
    for (const record of m.records()) assert.ok(!("sealed" in record));
    assert.throws(() => kekFromEnv({ TESSERA_KEK: "too-short" }), KeyEncryptionError);
  });
});
