import { randomBytes } from "node:crypto";
import { exportJWK, type CryptoKey, type JWK } from "jose";
import { DEFAULTS } from "../config/defaults.js";
import { TemporarilyUnavailableError } from "../errors/tessera-error.js";
import type { SigningAlgorithm } from "../config/types.js";
import { epochSeconds, systemClock, type Clock } from "../internal/clock.js";
import { silentLogger, type Logger } from "../internal/logger.js";
import type { KeyStore } from "./key-store.js";
import type { KeyRecord, KeyRingState } from "./key-record.js";
import type { KeyRing } from "./key-ring.js";
import { sealPrivateJwk, unsealPrivateJwk, type KeyEncryptionKey } from "./key-sealing.js";
import { mergeLostRecords, planRotation, requestRotation, revokeKey, type RotationPolicy } from "./rotation-plan.js";
import { generateSigningKey, importSigningKey, type SigningKey } from "./signing-key.js";

/** Options of KeyManager. */
export interface KeyManagerOptions {
  /** Where the key records live (memory, or Redis for several replicas). */
  ring: KeyRing;
  /** Seals private keys at rest. Every replica needs the same one. */
  kek: KeyEncryptionKey;
  /** Algorithm of new keys. */
  algorithm: SigningAlgorithm;
  policy: RotationPolicy;
  /** How often the schedule is checked and the ring re-read. Default: signing.rotation.checkIntervalSeconds' default (60 s). */
  checkIntervalMs?: number;
  /** Called after a key was revoked, to push the revocation to verifiers. */
  onKeyRevoked?: (kid: string, removeAt: number) => Promise<void>;
  clock?: Clock;
  logger?: Logger;
}

/** The configuration's default, so that an embedder's KeyManager checks as often as `tessera serve`'s. */
export const DEFAULT_CHECK_INTERVAL_MS = DEFAULTS.keyCheckIntervalSeconds * 1000;

const PUBLISHED = new Set(["next", "active", "retired"]);

/** A record whose removeAt is this close is not missed when it disappears: another replica's clock may be ahead. */
const REMOVAL_SLACK_SECONDS = 60;

/** The same epoch, version and records (kid, state, end): nothing to adopt. Equal versions alone are not enough after a loss. */
function sameRing(a: KeyRingState, b: KeyRingState): boolean {
  if (a.epoch !== b.epoch || a.version !== b.version || a.rotateRequestedAt !== b.rotateRequestedAt || a.records.length !== b.records.length) return false;
  return a.records.every((r, i) => {
    const o = b.records[i]!;
    return r.kid === o.kid && r.state === o.state && r.removeAt === o.removeAt && r.activatedAt === o.activatedAt;
  });
}

/** How long a replica that finds no ring at start waits for running replicas to re-seed it. */
const RESEED_WAIT_MS = 1000;

function newEpoch(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * The signing keys of a Tessera replica, kept in a KeyRing shared by all
 * replicas: keys are generated and published ahead of signing, promoted on
 * schedule or on command, retired keys stay published until their tokens
 * expired, and an emergency revocation withdraws a key at once. Every step is
 * a compare-and-set on the ring, so it happens exactly once whichever replicas
 * attempt it. Serves the issuer as its KeyStore.
 *
 * Losing the ring (Redis restarted without persistence, a failover to a
 * replica that lagged, a FLUSHALL) never costs a key this replica holds.
 * Every read is checked against the ring this replica adopted last: the same
 * epoch (a random id given when a ring is created, which a ring rebuilt from
 * scratch cannot share), a version not behind, and none of its live records
 * missing. A read that fails the check is never adopted as it is:
 * - no ring at all: this replica re-seeds it from its own copy under a new
 *   epoch, with compare-and-set on "no ring", so one replica wins;
 * - another ring (a new epoch, a version gone back, records missing): the
 *   records this replica holds and the ring lacks are merged into it
 *   (compare-and-set again), a revocation known to either side wins, and the
 *   ring's own active key keeps signing.
 * The other replicas find a new epoch, check that nothing of theirs is
 * missing, merge what is, and adopt it. Keys are only replaced once the new
 * state has been checked and unsealed, so verification has no gap, and
 * `inSync` is false (the replica not ready) while a lost ring is not
 * recovered yet.
 */
export class KeyManager implements KeyStore {
  readonly #options: KeyManagerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #keys = new Map<string, SigningKey>();
  #state: KeyRingState = { version: -1, records: [] };
  #loaded = false;
  #inSync = true;
  readonly #syncListeners = new Set<() => void>();
  readonly #publishedListeners = new Set<() => void>();
  #active: SigningKey | undefined;
  #jwks: readonly JWK[] = [];
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  #unwatch: (() => void) | undefined;

  private constructor(options: KeyManagerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Loads the ring (creating the first keys if it is empty), then follows it. Rejects on a wrong KEK. */
  static async start(options: KeyManagerOptions): Promise<KeyManager> {
    const manager = new KeyManager(options);
    await manager.#awaitLostRing();
    await manager.tick();
    manager.#unwatch = await options.ring.watch(() => void manager.reload().catch((err: unknown) => manager.#failed("key ring reload failed", err)));
    const interval = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    manager.#timer = setInterval(() => void manager.tick().catch((err: unknown) => manager.#failed("key rotation check failed", err)), interval);
    manager.#timer.unref();
    return manager;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#unwatch?.();
  }

  /**
   * At start, no ring may mean a first start or a ring Redis lost while other replicas still hold it:
   * the running replicas (if any watch the ring) are nudged to re-seed it, and given a moment, so that this one adopts their
   * keys instead of making a fresh ring they would have to merge (meanwhile neither side could verify
   * the other's tokens).
   */
  async #awaitLostRing(): Promise<void> {
    const { ring } = this.#options;
    if (ring.nudge === undefined || (await ring.read()).epoch !== undefined) return;
    if ((await ring.nudge()) === 0) return; // no replica running: a first start
    this.#logger.warn("no signing-key ring in redis while other replicas run: waiting for them to re-seed it");
    const deadline = Date.now() + RESEED_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if ((await ring.read()).epoch !== undefined) return;
    }
  }

  /** Logs a failed reload or check; while the ring is lost and not recovered, tries again every second. */
  #failed(message: string, err: unknown): void {
    this.#logger.error(message, { error: err instanceof Error ? err.message : String(err) });
    if (this.#inSync || this.#retry !== undefined || this.#stopped) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.reload().catch((e: unknown) => this.#failed("key ring recovery failed", e));
    }, 1000);
    this.#retry.unref();
  }

  async #newRecord(now: number): Promise<KeyRecord> {
    const key = await generateSigningKey(this.#options.algorithm);
    const privateJwk = await exportJWK(key.privateKey);
    const sealed = await sealPrivateJwk(privateJwk, this.#options.kek);
    this.#keys.set(key.kid, key);
    return { kid: key.kid, alg: key.alg, state: "next", publishedAt: now, publicJwk: key.publicJwk, sealed };
  }

  /** Applies `change` to the ring with compare-and-set, re-reading and retrying when another replica came first. */
  async #update(change: (state: KeyRingState, now: number) => Promise<KeyRingState | undefined>): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = await this.#current();
      const changed = await change(state, epochSeconds(this.#clock));
      if (changed === undefined) return this.#adopt(state);
      const next = { ...changed, epoch: state.epoch ?? newEpoch(), version: state.version + 1 };
      if (await this.#options.ring.write(next, state)) return this.#adopt(next);
    }
    await this.reload();
  }

  /** Whether the ring last read continues the one adopted: same epoch, version not behind, no live record missing. */
  #continues(observed: KeyRingState, now: number): boolean {
    if (!this.#loaded) return true;
    const known = this.#state;
    if (observed.epoch !== known.epoch || observed.version < known.version) return false;
    const present = new Set(observed.records.map((r) => r.kid));
    return known.records.every((r) => present.has(r.kid) || (r.removeAt !== undefined && r.removeAt <= now + REMOVAL_SLACK_SECONDS));
  }

  /** Reads the ring; one that does not continue ours is recovered first (see the class comment). */
  async #current(): Promise<KeyRingState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const observed = await this.#options.ring.read();
      const now = epochSeconds(this.#clock);
      if (this.#continues(observed, now)) {
        this.#setInSync(true);
        return observed;
      }
      this.#setInSync(false);
      const recovered = await this.#recover(observed, now);
      if (recovered !== undefined) {
        await this.#adopt(recovered, true);
        this.#setInSync(true);
        return recovered;
      }
    }
    throw new TemporarilyUnavailableError("the signing-key ring is being recovered, retry");
  }

  /** The state to adopt instead of `observed` (stored now), or undefined when another replica wrote first. */
  async #recover(observed: KeyRingState, now: number): Promise<KeyRingState | undefined> {
    const known = this.#state;
    if (observed.epoch === undefined) {
      this.#logger.error("the signing-key ring is gone from redis (data lost?): re-seeding it from this replica's copy", { version: known.version });
      const next: KeyRingState = { ...known, epoch: newEpoch(), version: known.version + 1 };
      return (await this.#options.ring.write(next, observed)) ? next : undefined;
    }
    const merged = await mergeLostRecords(observed, known, now, this.#options.policy, (t) => this.#newRecord(t));
    if (merged === undefined) {
      this.#logger.warn("the signing-key ring was replaced or went back; it holds every key this replica holds: adopted", {
        version: observed.version,
        was: known.version,
      });
      return observed;
    }
    this.#logger.error("the signing-key ring was replaced or went back (data lost?): merging the keys this replica still holds", {
      version: observed.version,
      was: known.version,
    });
    const next: KeyRingState = { ...merged, epoch: observed.epoch, version: observed.version + 1 };
    return (await this.#options.ring.write(next, observed)) ? next : undefined;
  }

  /** False from the moment a read found the ring lost until it is recovered: the replica is not ready meanwhile. */
  get inSync(): boolean {
    return this.#inSync;
  }

  /** Calls `listener` whenever `inSync` changes. */
  onSyncChange(listener: () => void): () => void {
    this.#syncListeners.add(listener);
    return () => this.#syncListeners.delete(listener);
  }

  #setInSync(inSync: boolean): void {
    if (inSync === this.#inSync) return;
    this.#inSync = inSync;
    for (const listener of this.#syncListeners) listener();
  }

  /** Takes the scheduled rotation step if one is due, then re-reads the ring. */
  async tick(): Promise<void> {
    await this.#update((state, now) => planRotation(state, now, this.#options.policy, (t) => this.#newRecord(t)));
  }

  /** `keys rotate`: the next key signs as soon as it has been published for the lead time. */
  async rotate(): Promise<void> {
    await this.#update(async (state, now) => {
      const requested = requestRotation(state, now);
      return (await planRotation(requested, now, this.#options.policy, (t) => this.#newRecord(t))) ?? requested;
    });
  }

  /** Emergency: withdraw a key from JWKS, tell verifiers, and sign with the standby key. */
  async revoke(kid: string): Promise<void> {
    await this.#update(async (state, now) => {
      const revoked = await revokeKey(state, kid, now, this.#options.policy, (t) => this.#newRecord(t));
      if (revoked === state) return undefined;
      return (await planRotation(revoked, now, this.#options.policy, (t) => this.#newRecord(t))) ?? revoked;
    });
    const record = this.#state.records.find((r) => r.kid === kid);
    if (record?.state === "revoked") await this.#options.onKeyRevoked?.(kid, record.removeAt ?? epochSeconds(this.#clock));
  }

  /** Re-reads the ring (another replica changed it). */
  async reload(): Promise<void> {
    await this.#adopt(await this.#current());
  }

  /**
   * Makes `state` the one this replica signs and verifies with. Nothing is replaced before the new
   * state is known to be usable (an active key, every private key unsealed). A state behind the one
   * adopted (a slower read that overlapped a write) is ignored, unless `recovered` says it replaces it.
   */
  async #adopt(state: KeyRingState, recovered = false): Promise<void> {
    if (state === this.#state || sameRing(state, this.#state)) return;
    if (!recovered && this.#loaded && state.epoch === this.#state.epoch && state.version < this.#state.version) return;
    const active = state.records.find((r) => r.state === "active");
    if (active === undefined) throw new Error("the key ring has no active key");
    const keys = new Map<string, SigningKey>();
    for (const record of state.records) {
      if (record.state === "revoked") continue;
      let key = this.#keys.get(record.kid);
      if (key === undefined) {
        const jwk = await unsealPrivateJwk(record.sealed, this.#options.kek);
        key = await importSigningKey(JSON.stringify(jwk), record.alg);
      }
      keys.set(record.kid, key);
    }
    this.#keys = keys;
    this.#active = keys.get(active.kid);
    this.#jwks = Object.freeze(state.records.filter((r) => PUBLISHED.has(r.state)).map((r) => Object.freeze({ ...r.publicJwk })));
    this.#state = state;
    this.#loaded = true;
    for (const listener of this.#publishedListeners) listener();
  }

  /** Calls `listener` whenever the published keys or the revoked key ids may have changed (this replica's or another's rotation, retirement, revocation). */
  onPublishedChange(listener: () => void): () => void {
    this.#publishedListeners.add(listener);
    return () => this.#publishedListeners.delete(listener);
  }

  /** The ids of keys revoked in an emergency whose tokens may still be unexpired. */
  revokedKids(): string[] {
    return this.#state.records.filter((r) => r.state === "revoked").map((r) => r.kid);
  }

  /** The records, without their sealed private keys (for `keys list`). */
  records(): Omit<KeyRecord, "sealed">[] {
    return this.#state.records.map(({ sealed: _sealed, ...rest }) => rest);
  }

  signingKey(): SigningKey {
    if (this.#active === undefined) throw new Error("the key manager has not loaded its keys");
    return this.#active;
  }

  publicJwks(): readonly JWK[] {
    return this.#jwks;
  }

  verificationKey(kid: string): { key: CryptoKey; alg: SigningAlgorithm } | undefined {
    const record = this.#state.records.find((r) => r.kid === kid);
    if (record === undefined || !PUBLISHED.has(record.state)) return undefined;
    const key = this.#keys.get(kid);
    return key === undefined ? undefined : { key: key.publicKey, alg: key.alg };
  }
}
