import { randomBytes } from "node:crypto";
import { Cluster } from "ioredis";
import { TemporarilyUnavailableError } from "../../errors/tessera-error.js";
import { systemClock, type Clock } from "../../internal/clock.js";
import { silentLogger, type Logger } from "../../internal/logger.js";
import type { ServiceEvents } from "../../internal/service-events.js";
import { ExpiringMap } from "../../internal/expiring-map.js";
import { clientRevocationEvent, clientRevocationJti, mergeClientRevocation } from "../revocation-kinds.js";
import type { DenyList, RevocationEvent, RevocationFeed, RevocationSubscriberHooks } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { isNoScript, REVOKE } from "./lua-scripts.js";
import type { RedisClient } from "./redis-client.js";
import { addedDeadline, REDIS_RETRY_AFTER_SECONDS, type RedisOperation, redisCall, redisOperations } from "./redis-call.js";
import { delay } from "../../internal/delay.js";
import { FeedSubscription, type FeedStats } from "./revocation-feed.js";

export type { FeedStats } from "./revocation-feed.js";

/** Options of RedisDenyList. */
export interface RedisDenyListOptions {
  /** Longest a Redis operation may take before it fails as unavailable, in ms. */
  commandTimeoutMs: number;
  /**
   * Replicas that must confirm a revocation (WAIT) before revoke() resolves. Default: follows the
   * topology: 1 once the primary reported a connected replica (INFO replication, asked again after
   * each reconnection and every 30 s; Cluster: any master), else 0. Once 1, it stays 1 until restart:
   * a replica that dropped out may still be promoted by a failover, and must have every revocation.
   */
  waitReplicas?: 0 | 1 | undefined;
  /** How long revoke() waits for them, in ms. Default 500. */
  waitTimeoutMs?: number;
  /** Entries the feed keeps for subscribers that catch up; one further behind starts over from the revocations in force. Default 10000. */
  feedLength?: number;
  /** How long a subscriber's read blocks waiting for news, in ms (a new revocation ends it at once). Default 5000. */
  /** Where the feed's lag is reported to (metrics). */
  events?: ServiceEvents | undefined;
  feedBlockMs?: number;
  /**
   * Hold the revocations in force in memory as well (fed by the feed and by each revoke()), refuse
   * them even when Redis has forgotten them, and re-seed Redis from them when it lost its data.
   * The Tessera server turns it on; a verifier that only follows the feed does not need it. Default false.
   */
  holdRevocations?: boolean;
  /** With holdRevocations: how often Redis is checked for a data loss, in ms. Default 1000. */
  lossCheckMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * The deny-list and revocation feed shared by every replica and verifier.
 *
 * revoke() runs one script (REVOKE) that sets the token's deny-list entry,
 * drops its cached introspection answers, indexes it among the revocations in
 * force and appends it to a capped stream with the next sequence number; when
 * a replica must confirm it (waitReplicas) a WAIT follows on the same
 * connection, and revoke() resolves only once a replica has the write.
 *
 * subscribe() reads the revocations in force and the stream position in one
 * atomic snapshot, then follows the stream with XREAD BLOCK on its own
 * connection. Every entry carries a sequence number: an entry that does not
 * follow the last one seen (the stream was trimmed past the subscriber, or
 * Redis lost data) makes the subscription start over from a fresh snapshot.
 * After a lost connection, reading resumes after the last entry seen if the
 * stream still holds it, else from a fresh snapshot. So nothing is missed; a
 * revocation may be delivered twice (listeners must be idempotent, as a deny
 * set is). Each snapshot and each read that returns (news, or none within
 * `feedBlockMs`) reports the subscriber in sync (`onSynced`), so a verifier
 * can tell a healthy quiet feed from a broken one (`heartbeatMs`).
 *
 * With holdRevocations, a lost Redis dataset never makes a replica forget an
 * acknowledged revocation. The replica holds the revocations in force in
 * memory and consults them before Redis. A marker key in the revocation slot
 * ({rev}:epoch, a random id without expiry) is set by the first replica that
 * finds it absent; it disappears only with the slot's data. A replica that
 * finds it absent or changed (checked after each reconnection and every
 * lossCheckMs) re-seeds Redis with every revocation it holds (REVOKE is
 * idempotent: replicas re-seeding at once push each revocation once), then
 * sets or adopts the new marker; it is not ready meanwhile. Every replica
 * that knew the old marker re-seeds, so a revocation survives as long as one
 * replica still holds it. Verifiers keep their deny sets across the loss (a
 * resync only adds to them).
 */
export class RedisDenyList implements DenyList, RevocationFeed {
  readonly #subscriptions = new Set<FeedSubscription>();
  readonly #stats: FeedStats = { resyncs: 0, readErrors: 0 };
  readonly #logger: Logger;
  readonly #deadlineMs: number;
  readonly #ops: Record<"clientRevoked" | "revoke" | "topology" | "check" | "marker", RedisOperation>;
  readonly #held: ExpiringMap<RevocationEvent> | undefined;
  readonly #readyListeners = new Set<() => void>();
  #heldLoaded = false;
  #reseeding = false;
  /** Not known to hold every revocation: after a reconnection until the marker was checked, and while re-seeding after a loss. */
  #unsure = false;
  #epoch: string | undefined;
  #checking: Promise<void> | undefined;
  #lossTimer: NodeJS.Timeout | undefined;
  #stopHolding: (() => void) | undefined;
  #closed = false;
  #replicas: { value: 0 | 1; until: number } | undefined;
  readonly #onReady = () => {
    if (this.#replicas !== undefined) this.#replicas = { ...this.#replicas, until: 0 };
    if (!this.#heldLoaded) return;
    // A reconnection may be to a Redis that restarted empty: not ready until the marker says otherwise.
    this.#setUnsure(true);
    void this.checkForLoss().catch(() => {});
  };

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: RedisDenyListOptions,
  ) {
    this.#logger = options.logger ?? silentLogger;
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
    this.#ops = redisOperations(options.events, {
      clientRevoked: "deny_list.client_revoked",
      revoke: "deny_list.revoke",
      topology: "deny_list.topology",
      check: "deny_list.check",
      marker: "deny_list.loss_marker",
    });
    client.on("ready", this.#onReady);
    if (options.holdRevocations === true) {
      this.#held = new ExpiringMap(options.clock ?? systemClock);
      void this.#hold();
    }
  }

  /** A healthy subscription reports itself in sync at least this often: a read blocks at most feedBlockMs. */
  get heartbeatMs(): number {
    return this.options.feedBlockMs ?? 5000;
  }

  get stats(): Readonly<FeedStats> {
    return { ...this.#stats };
  }

  /**
   * With holdRevocations: whether this replica's revocations can be trusted, i.e. the ones in force
   * are loaded, and since the last reconnection Redis was checked for a data loss (and re-seeded if it
   * lost its data). Always true without it.
   */
  get ready(): boolean {
    return this.#held === undefined || (this.#heldLoaded && !this.#unsure);
  }

  /** Resolves true once `ready`, or false after `timeoutMs`. */
  waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve(this.ready);
      };
      const timer = setTimeout(done, timeoutMs);
      const off = this.onReadyChange(() => {
        if (this.ready) done();
      });
    });
  }

  /** Calls `listener` whenever `ready` may have changed. */
  onReadyChange(listener: () => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  /** Whether this replica holds the token as revoked in memory (always false without holdRevocations). */
  holds(issuer: string, jti: string): boolean {
    return this.#held !== undefined && this.#held.size > 0 && this.#held.has(heldKey(issuer, jti));
  }

  async revoke(issuer: string, jti: string, expiresAt: number): Promise<void> {
    const event: RevocationEvent = { issuer, jti, expiresAt };
    await this.#store(event, await this.#waitReplicas());
    this.#remember(event);
  }

  async revokeClient(issuer: string, clientId: string, issuedBefore: number, expiresAt: number): Promise<void> {
    const event = clientRevocationEvent(issuer, clientId, issuedBefore, expiresAt);
    await this.#store(event, await this.#waitReplicas());
    this.#remember(event);
  }

  /** Whether this replica holds a cut-off of the client covering `issuedAt` in memory (always false without holdRevocations). */
  holdsCutOff(issuer: string, clientId: string, issuedAt: number): boolean {
    if (this.#held === undefined || this.#held.size === 0) return false;
    const held = this.#held.get(heldKey(issuer, clientRevocationJti(clientId)))?.issuedBefore;
    return held !== undefined && issuedAt < held;
  }

  async isClientRevoked(issuer: string, clientId: string, issuedAt: number): Promise<boolean> {
    if (this.holdsCutOff(issuer, clientId, issuedAt)) return true;
    const jti = clientRevocationJti(clientId);
    const stored = await redisCall(this.#ops.clientRevoked, () => this.client.get(this.keys.deny(issuer, jti)), this.#deadlineMs);
    return stored !== null && issuedAt * 1000 < Number(stored);
  }

  async #store(event: RevocationEvent, waitReplicas: 0 | 1): Promise<void> {
    const { issuer, jti, expiresAt, issuedBefore } = event;
    const keys = [...this.keys.tokenKeys(issuer, jti), this.keys.revoked, this.keys.feed, this.keys.feedSeq];
    const member = JSON.stringify([issuer, jti]);
    const args = [
      Math.ceil(expiresAt * 1000),
      member,
      issuer,
      jti,
      Math.max(1, this.options.feedLength ?? 10_000),
      issuedBefore === undefined ? "" : String(Math.round(issuedBefore * 1000)),
      `${member.slice(0, -1)},`,
    ];
    const waitTimeoutMs = this.options.waitTimeoutMs ?? 500;
    if (waitReplicas === 0) {
      await redisCall(this.#ops.revoke, () => REVOKE.run(this.client, keys, args), this.options.commandTimeoutMs);
      return;
    }
    const replicas = await redisCall(
      this.#ops.revoke,
      async () => {
        // The script and WAIT in one pipeline: one connection, the one to the node that owns the keys.
        let results = await this.client
          .pipeline()
          .evalsha(REVOKE.sha, keys.length, ...keys, ...args)
          .wait(waitReplicas, waitTimeoutMs)
          .exec();
        if (results !== null && isNoScript(results[0]?.[0])) {
          results = await this.client
            .pipeline()
            .eval(REVOKE.source, keys.length, ...keys, ...args)
            .wait(waitReplicas, waitTimeoutMs)
            .exec();
        }
        if (results === null) throw new Error("pipeline aborted");
        for (const [err] of results) if (err) throw err;
        return Number(results[1]![1]);
      },
      this.options.commandTimeoutMs + waitTimeoutMs,
    );
    if (replicas < waitReplicas) {
      // Stored on the primary but not confirmed: not acknowledged. A retry is harmless (revoking twice is a no-op).
      throw new TemporarilyUnavailableError("the revocation is not confirmed by a replica yet, retry", REDIS_RETRY_AFTER_SECONDS);
    }
  }

  /** The replicas a revocation waits for: as configured, else as the topology says (see RedisDenyListOptions.waitReplicas). */
  async #waitReplicas(): Promise<0 | 1> {
    if (this.options.waitReplicas !== undefined) return this.options.waitReplicas;
    const now = Date.now();
    if (this.#replicas !== undefined && now < this.#replicas.until) return this.#replicas.value;
    const seen = await redisCall(this.#ops.topology, () => replicasOf(this.client), this.options.commandTimeoutMs);
    const value = this.#replicas?.value === 1 ? 1 : seen;
    this.#replicas = { value, until: now + 30_000 };
    return value;
  }

  /** The replicas revocations wait for now (see RedisDenyListOptions.waitReplicas); asks Redis when it follows the topology. */
  waitReplicas(): Promise<0 | 1> {
    return this.#waitReplicas();
  }

  async isRevoked(issuer: string, jti: string): Promise<boolean> {
    if (this.holds(issuer, jti)) return true;
    return (await redisCall(this.#ops.check, () => this.client.exists(this.keys.deny(issuer, jti)), this.#deadlineMs)) === 1;
  }

  async subscribe(listener: (event: RevocationEvent) => void, hooks: RevocationSubscriberHooks = {}): Promise<() => void> {
    const subscription = new FeedSubscription(this.client, this.keys, this.options, listener, hooks, this.#stats, this.#logger, () =>
      this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (err) {
      subscription.stop();
      throw err;
    }
    return () => subscription.stop();
  }

  /**
   * With holdRevocations: checks the data-loss marker now and, if Redis lost its data, re-seeds it
   * from the revocations held (see the class comment). Runs by itself after each reconnection and
   * every lossCheckMs; resolves once done.
   */
  checkForLoss(): Promise<void> {
    this.#checking ??= this.#checkForLoss().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #checkForLoss(): Promise<void> {
    const marker = this.keys.revocationEpoch;
    const stored = await redisCall(this.#ops.marker, () => this.client.get(marker), this.options.commandTimeoutMs);
    if (stored !== null && (stored === this.#epoch || this.#epoch === undefined)) {
      this.#epoch = stored;
      this.#setUnsure(false);
      return;
    }
    // Absent (the first replica ever, or Redis lost its data) or replaced (lost, and re-created by another replica).
    const held = [...(this.#held?.values() ?? [])];
    const lost = this.#epoch !== undefined;
    if (lost) {
      if (!this.#reseeding)
        this.#logger.error("redis lost the revocations (restart without persistence?): re-seeding the ones this replica holds", { held: held.length });
      this.#reseeding = true;
      this.#setUnsure(true);
    }
    for (let i = 0; i < held.length; i += 500) {
      await Promise.all(held.slice(i, i + 500).map((e) => this.#store(e, 0)));
    }
    await redisCall(this.#ops.marker, () => this.client.set(marker, randomBytes(16).toString("base64url"), "NX"), this.options.commandTimeoutMs);
    const current = await redisCall(this.#ops.marker, () => this.client.get(marker), this.options.commandTimeoutMs);
    if (current === null) throw new TemporarilyUnavailableError("the revocation marker vanished while re-seeding, retry", REDIS_RETRY_AFTER_SECONDS);
    if (this.#reseeding) this.#logger.info("revocations re-seeded", { held: held.length });
    this.#reseeding = false;
    this.#epoch = current;
    this.#setUnsure(false);
  }

  /** Loads the revocations in force into memory, retrying until Redis answers, then watches for a data loss. */
  async #hold(): Promise<void> {
    for (let failures = 0; !this.#closed; failures++) {
      try {
        await this.checkForLoss();
        const stop = await this.subscribe((event) => this.#remember(event));
        if (this.#closed) return stop();
        this.#stopHolding = stop;
        this.#heldLoaded = true;
        this.#notifyReady();
        this.#lossTimer = setInterval(() => void this.checkForLoss().catch(() => {}), this.options.lossCheckMs ?? 1000);
        this.#lossTimer.unref();
        return;
      } catch {
        await delay(Math.min(50 * 2 ** Math.min(failures, 5), 1000));
      }
    }
  }

  #remember(event: RevocationEvent): void {
    if (this.#held === undefined) return;
    const key = heldKey(event.issuer, event.jti);
    const merged = event.issuedBefore === undefined ? event : mergeClientRevocation(this.#held.get(key), event);
    if (merged !== undefined) this.#held.set(key, merged, merged.expiresAt);
  }

  #setUnsure(unsure: boolean): void {
    if (unsure === this.#unsure) return;
    this.#unsure = unsure;
    this.#notifyReady();
  }

  #notifyReady(): void {
    for (const listener of this.#readyListeners) listener();
  }

  /** Ends every subscription (their connections are closed) and the data-loss watch. The client is not closed. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#lossTimer);
    this.#stopHolding?.();
    this.client.off("ready", this.#onReady);
    this.#readyListeners.clear();
    for (const subscription of [...this.#subscriptions]) subscription.stop();
  }
}

function heldKey(issuer: string, jti: string): string {
  return `${issuer}\u0000${jti}`;
}

/** 1 when a revocation should wait for a replica: the primary (Sentinel's too; Cluster: any master) has a connected replica. */
async function replicasOf(client: RedisClient): Promise<0 | 1> {
  const infos =
    client instanceof Cluster ? await Promise.all(client.nodes("master").map((node) => node.info("replication"))) : [await client.info("replication")];
  return infos.some((info) => connectedReplicas(info) > 0) ? 1 : 0;
}

function connectedReplicas(info: string): number {
  return Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
}
