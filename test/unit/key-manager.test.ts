import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { KeyManager } from "../../src/keys/key-manager.js";
import type { KeyRingState } from "../../src/keys/key-record.js";
import type { KeyRing } from "../../src/keys/key-ring.js";
import { MemoryKeyRing } from "../../src/store/memory/key-ring.js";
import { KeyEncryptionError, kekFromEnv, type KeyEncryptionKey } from "../../src/keys/key-sealing.js";
import type { RotationPolicy } from "../../src/keys/rotation-plan.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const DAY = 86_400;
const policy: RotationPolicy = { rotationPeriodSeconds: DAY, leadTimeSeconds: 3600, retainSeconds: 3660 };
const kek = (): KeyEncryptionKey => kekFromEnv({ TESSERA_KEK: randomBytes(32).toString("base64url") })!;

async function manager(ring: KeyRing = new MemoryKeyRing(), clock = new FrozenClock(), key = kek(), onKeyRevoked?: (kid: string) => Promise<void>) {
  const m = await KeyManager.start({
    ring,
    kek: key,
    algorithm: "ES256",
    policy,
    clock,
    checkIntervalMs: 3_600_000,
    ...(onKeyRevoked ? { onKeyRevoked } : {}),
  });
  return { m, ring, clock, key };
}

const states = (m: KeyManager) =>
  m
    .records()
    .map((r) => r.state)
    .sort();
const kids = (m: KeyManager) =>
  m
    .publicJwks()
    .map((k) => k.kid!)
    .sort();

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
      assert.ok(
        m.records().some((r) => r.state === "next"),
        "a new standby is published",
      );
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

/**
 * A shared ring that can lose its data (as Redis restarted without persistence) or go back to an older
 * state (a failover to a lagging replica) without telling anyone, and refuse writes.
 */
class LosableRing implements KeyRing {
  #inner = new MemoryKeyRing();
  readonly #listeners = new Set<() => void>();
  refuseWrites = false;

  read(): Promise<KeyRingState> {
    return this.#inner.read();
  }
  async write(next: KeyRingState, expected: Pick<KeyRingState, "epoch" | "version">): Promise<boolean> {
    if (this.refuseWrites) throw new Error("OOM command not allowed");
    const ok = await this.#inner.write(next, expected);
    if (ok) for (const listener of this.#listeners) listener();
    return ok;
  }
  async watch(listener: () => void): Promise<() => void> {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  /** Calls the watchers; returns how many there are. */
  notify(): number {
    for (const listener of this.#listeners) listener();
    return this.#listeners.size;
  }
  lose(): void {
    this.#inner = new MemoryKeyRing();
  }
  async replace(state: KeyRingState): Promise<void> {
    this.lose();
    assert.ok(await this.#inner.write(state, { version: 0 }));
  }
}

describe("KeyManager when the shared ring is lost", () => {
  const epoch = async (ring: KeyRing) => (await ring.read()).epoch;

  test("a lost ring is re-seeded from the replica's copy under a new epoch; keys are never dropped; the other replica adopts it", async () => {
    const ring = new LosableRing();
    const { m: a, key } = await manager(ring);
    const { m: b } = await manager(ring, new FrozenClock(), key);
    try {
      const before = await epoch(ring);
      const signing = a.signingKey().kid;
      ring.lose();
      ring.refuseWrites = true;
      await assert.rejects(a.reload());
      assert.equal(a.inSync, false, "not ready while the ring is lost");
      assert.equal(a.signingKey().kid, signing, "still signing with the same key");
      assert.ok(a.verificationKey(signing), "still verifying its tokens");
      ring.refuseWrites = false;
      await a.reload();
      assert.equal(a.inSync, true);
      const after = await ring.read();
      assert.ok(after.epoch !== undefined && after.epoch !== before, "a new epoch, which no fresh ring shares");
      assert.deepEqual(after.records.map((r) => r.kid).sort(), kids(a));
      await b.reload();
      assert.equal(b.signingKey().kid, signing);
      assert.deepEqual(kids(b), kids(a));
    } finally {
      a.stop();
      b.stop();
    }
  });

  test("a fresh ring made by a new replica meanwhile: the keys held are merged into it and stay published; one key signs", async () => {
    const ring = new LosableRing();
    const { m: a, key, clock } = await manager(ring);
    try {
      const held = kids(a);
      const signing = a.signingKey().kid;
      ring.lose();
      const { m: c } = await manager(ring, clock, key);
      try {
        assert.ok(!held.includes(c.signingKey().kid), "the new replica made keys of its own");
        await a.reload();
        await c.reload();
        for (const kid of held) {
          assert.ok(a.verificationKey(kid), `A still verifies ${kid}`);
          assert.ok(c.verificationKey(kid), `C verifies ${kid} too`);
        }
        assert.equal(a.signingKey().kid, c.signingKey().kid, "both sign with the ring's active key");
        assert.equal(a.records().find((r) => r.kid === signing)?.state, "retired");
        assert.equal(a.records().filter((r) => r.state === "active").length, 1);
      } finally {
        c.stop();
      }
    } finally {
      a.stop();
    }
  });

  test("a version gone back (a failover that lost writes) is merged, and a key revoked meanwhile stays revoked", async () => {
    const ring = new LosableRing();
    const { m: a, clock } = await manager(ring);
    try {
      const old = await ring.read();
      const first = a.signingKey().kid;
      clock.advance(DAY);
      await a.tick(); // the standby signs now; a new standby is published
      await a.revoke(first);
      const newest = kids(a);
      await ring.replace(old); // back to before the rotation (same epoch, lower version than A's)
      await a.reload();
      const stored = await ring.read();
      assert.equal(stored.records.find((r) => r.kid === first)?.state, "revoked", "the revocation is not undone");
      for (const kid of newest)
        assert.ok(
          stored.records.some((r) => r.kid === kid),
          `${kid} is back in the ring`,
        );
      assert.equal(a.verificationKey(first), undefined);
      assert.notEqual(a.signingKey().kid, first);
    } finally {
      a.stop();
    }
  });
});

describe("KeyManager starting while the shared ring is lost", () => {
  test("a new replica that finds no ring nudges the running ones, and adopts the ring they re-seed instead of making a fresh one", async () => {
    const ring = new NudgeableRing();
    const { m: a, key, clock } = await manager(ring);
    try {
      const held = kids(a);
      ring.lose();
      const { m: c } = await manager(ring, clock, key);
      try {
        assert.deepEqual(kids(c), held, "the running replica's keys, nothing new");
        assert.equal(c.signingKey().kid, a.signingKey().kid);
      } finally {
        c.stop();
      }
    } finally {
      a.stop();
    }
  });
});

/** LosableRing whose nudge wakes the watchers, as PUBLISH does. */
class NudgeableRing extends LosableRing {
  async nudge(): Promise<number> {
    return this.notify();
  }
}
