import { exportJWK, type CryptoKey, type JWK } from "jose";
import { DEFAULTS } from "../config/defaults.js";
import type { SigningAlgorithm } from "../config/types.js";
import { epochSeconds, systemClock, type Clock } from "../internal/clock.js";
import { silentLogger, type Logger } from "../internal/logger.js";
import type { KeyStore } from "./key-store.js";
import type { KeyRecord, KeyRingState } from "./key-record.js";
import type { KeyRing } from "./key-ring.js";
import { sealPrivateJwk, unsealPrivateJwk, type KeyEncryptionKey } from "./key-sealing.js";
import { planRotation, requestRotation, revokeKey, type RotationPolicy } from "./rotation-plan.js";
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

/**
 * The signing keys of a Tessera replica, kept in a KeyRing shared by all
 * replicas: keys are generated and published ahead of signing, promoted on
 * schedule or on command, retired keys stay published until their tokens
 * expired, and an emergency revocation withdraws a key at once. Every step is
 * a compare-and-set on the ring, so it happens exactly once whichever replicas
 * attempt it. Serves the issuer as its KeyStore.
 */
export class KeyManager implements KeyStore {
  readonly #options: KeyManagerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #keys = new Map<string, SigningKey>();
  #state: KeyRingState = { version: -1, records: [] };
  #active: SigningKey | undefined;
  #jwks: readonly JWK[] = [];
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;

  private constructor(options: KeyManagerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Loads the ring (creating the first keys if it is empty), then follows it. Rejects on a wrong KEK. */
  static async start(options: KeyManagerOptions): Promise<KeyManager> {
    const manager = new KeyManager(options);
    await manager.tick();
    manager.#unwatch = await options.ring.watch(() => void manager.reload().catch((err: unknown) => manager.#logger.error("key ring reload failed", { error: String(err) })));
    const interval = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    manager.#timer = setInterval(() => void manager.tick().catch((err: unknown) => manager.#logger.error("key rotation check failed", { error: String(err) })), interval);
    manager.#timer.unref();
    return manager;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#unwatch?.();
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
      const state = await this.#options.ring.read();
      const changed = await change(state, epochSeconds(this.#clock));
      if (changed === undefined) return this.#adopt(state);
      const next = { ...changed, version: state.version + 1 };
      if (await this.#options.ring.write(next)) return this.#adopt(next);
    }
    await this.reload();
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
    await this.#adopt(await this.#options.ring.read());
  }

  async #adopt(state: KeyRingState): Promise<void> {
    if (state.version === this.#state.version) return;
    for (const record of state.records) {
      if (record.state !== "revoked" && !this.#keys.has(record.kid)) {
        const jwk = await unsealPrivateJwk(record.sealed, this.#options.kek);
        this.#keys.set(record.kid, await importSigningKey(JSON.stringify(jwk), record.alg));
      }
    }
    const live = new Set(state.records.filter((r) => r.state !== "revoked").map((r) => r.kid));
    for (const kid of this.#keys.keys()) if (!live.has(kid)) this.#keys.delete(kid);
    const active = state.records.find((r) => r.state === "active");
    if (active === undefined) throw new Error("the key ring has no active key");
    this.#active = this.#keys.get(active.kid);
    this.#jwks = Object.freeze(state.records.filter((r) => PUBLISHED.has(r.state)).map((r) => Object.freeze({ ...r.publicJwk })));
    this.#state = state;
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
