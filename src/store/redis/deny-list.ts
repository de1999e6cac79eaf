import { TemporarilyUnavailableError } from "../../errors/tessera-error.js";
import { silentLogger, type Logger } from "../../internal/logger.js";
import type { DenyList, RevocationEvent, RevocationFeed, RevocationSubscriberHooks } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { FEED_INTACT, FEED_SNAPSHOT, isNoScript, REVOKE } from "./lua-scripts.js";
import { blockingConnection, type RedisClient } from "./redis-client.js";
import { addedDeadline, REDIS_RETRY_AFTER_SECONDS, redisCall } from "./redis-call.js";

/** Options of RedisDenyList. */
export interface RedisDenyListOptions {
  /** Longest a Redis operation may take before it fails as unavailable, in ms. */
  commandTimeoutMs: number;
  /** Replicas that must confirm a revocation (WAIT) before revoke() resolves. Default 0. */
  waitReplicas?: 0 | 1;
  /** How long revoke() waits for them, in ms. Default 500. */
  waitTimeoutMs?: number;
  /** Entries the feed keeps for subscribers that catch up; one further behind starts over from the revocations in force. Default 10000. */
  feedLength?: number;
  /** How long a subscriber's read blocks waiting for news, in ms (a new revocation ends it at once). Default 5000. */
  feedBlockMs?: number;
  logger?: Logger;
}

/** Counters of the feed's subscriptions, for metrics and tests. */
export interface FeedStats {
  /** Subscriptions started over from the revocations in force, after a gap in the feed. */
  resyncs: number;
  /** Reads that failed (lost connection, timeout) and were retried. */
  readErrors: number;
}

/**
 * The deny-list and revocation feed shared by every replica and verifier.
 *
 * revoke() runs one script (REVOKE) that sets the token's deny-list entry,
 * drops its cached introspection answers, indexes it among the revocations in
 * force and appends it to a capped stream with the next sequence number; with
 * waitReplicas 1 a WAIT follows on the same connection, and revoke() resolves
 * only once a replica has the write.
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
 */
export class RedisDenyList implements DenyList, RevocationFeed {
  readonly #subscriptions = new Set<FeedSubscription>();
  readonly #stats: FeedStats = { resyncs: 0, readErrors: 0 };
  readonly #logger: Logger;
  readonly #deadlineMs: number;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: RedisDenyListOptions,
  ) {
    this.#logger = options.logger ?? silentLogger;
    this.#deadlineMs = addedDeadline(client, options.commandTimeoutMs);
  }

  /** A healthy subscription reports itself in sync at least this often: a read blocks at most feedBlockMs. */
  get heartbeatMs(): number {
    return this.options.feedBlockMs ?? 5000;
  }

  get stats(): Readonly<FeedStats> {
    return { ...this.#stats };
  }

  async revoke(issuer: string, jti: string, expiresAt: number): Promise<void> {
    const keys = [...this.keys.tokenKeys(issuer, jti), this.keys.revoked, this.keys.feed, this.keys.feedSeq];
    const args = [Math.ceil(expiresAt * 1000), JSON.stringify([issuer, jti]), issuer, jti, Math.max(1, this.options.feedLength ?? 10_000)];
    const waitReplicas = this.options.waitReplicas ?? 0;
    const waitTimeoutMs = this.options.waitTimeoutMs ?? 500;
    if (waitReplicas === 0) {
      await redisCall(() => REVOKE.run(this.client, keys, args), this.options.commandTimeoutMs);
      return;
    }
    const replicas = await redisCall(async () => {
      // The script and WAIT in one pipeline: one connection, the one to the node that owns the keys.
      let results = await this.client.pipeline().evalsha(REVOKE.sha, keys.length, ...keys, ...args).wait(waitReplicas, waitTimeoutMs).exec();
      if (results !== null && isNoScript(results[0]?.[0])) {
        results = await this.client.pipeline().eval(REVOKE.source, keys.length, ...keys, ...args).wait(waitReplicas, waitTimeoutMs).exec();
      }
      if (results === null) throw new Error("pipeline aborted");
      for (const [err] of results) if (err) throw err;
      return Number(results[1]![1]);
    }, this.options.commandTimeoutMs + waitTimeoutMs);
    if (replicas < waitReplicas) {
      // Stored on the primary but not confirmed: not acknowledged. A retry is harmless (revoking twice is a no-op).
      throw new TemporarilyUnavailableError("the revocation is not confirmed by a replica yet, retry", REDIS_RETRY_AFTER_SECONDS);
    }
  }

  async isRevoked(issuer: string, jti: string): Promise<boolean> {
    return (await redisCall(() => this.client.exists(this.keys.deny(issuer, jti)), this.#deadlineMs)) === 1;
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

  /** Ends every subscription (their connections are closed). The client is not closed. */
  close(): void {
    for (const subscription of [...this.#subscriptions]) subscription.stop();
  }
}

/** Entries one read of the feed returns at most. */
const FEED_BATCH = 1000;

/** One subscriber's connection and position in the feed. */
class FeedSubscription {
  readonly #connection: RedisClient;
  readonly #blockMs: number;
  #lastId = "0-0";
  #lastSeq = 0;
  #stopped = false;

  constructor(
    client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: RedisDenyListOptions,
    private readonly listener: (event: RevocationEvent) => void,
    private readonly hooks: RevocationSubscriberHooks,
    private readonly stats: FeedStats,
    private readonly logger: Logger,
    private readonly onStop: () => void,
  ) {
    this.#blockMs = options.feedBlockMs ?? 5000;
    this.#connection = blockingConnection(client, this.#blockMs, options.commandTimeoutMs, `${keys.prefix}feed`);
    this.#connection.on("error", () => {});
  }

  async start(): Promise<void> {
    await redisCall(async () => {
      await this.#ready(this.options.commandTimeoutMs);
      await this.#snapshot();
    }, this.options.commandTimeoutMs * 2);
    void this.#follow();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.onStop();
    this.#connection.disconnect();
  }

  /** Delivers the revocations in force and moves to the end of the feed, atomically read. */
  async #snapshot(): Promise<void> {
    const [lastId, seq, inForce] = (await FEED_SNAPSHOT.run(this.#connection, [this.keys.revoked, this.keys.feed, this.keys.feedSeq], [])) as [
      string,
      number,
      string[],
    ];
    for (let i = 0; i + 1 < inForce.length; i += 2) {
      const [issuer, jti] = JSON.parse(inForce[i]!) as [string, string];
      this.#deliver({ issuer, jti, expiresAt: Number(inForce[i + 1]) / 1000 });
    }
    this.#lastId = lastId;
    this.#lastSeq = Number(seq);
    this.#synced();
  }

  /** Tells the subscriber it holds every revocation the feed had when the last read or snapshot was answered. */
  #synced(): void {
    if (this.#stopped) return;
    try {
      this.hooks.onSynced?.();
    } catch (err) {
      this.logger.error("revocation feed sync hook failed", { error: err instanceof Error ? err.message : String(err) });
    }
  }

  #deliver(event: RevocationEvent): void {
    if (this.#stopped) return;
    try {
      this.listener(Object.freeze(event));
    } catch (err) {
      this.logger.error("revocation listener failed", { error: err instanceof Error ? err.message : String(err) });
    }
  }

  async #follow(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (failures > 0) {
          await this.#ready(1000);
          if (this.#stopped) return;
          const intact = await FEED_INTACT.run(this.#connection, [this.keys.feed], [this.#lastId, String(this.#lastSeq)]);
          if (intact !== 1) await this.#resync();
        }
        const reply = (await this.#connection.xread("COUNT", FEED_BATCH, "BLOCK", this.#blockMs, "STREAMS", this.keys.feed, this.#lastId)) as
          | [string, [string, string[]][]][]
          | null;
        failures = 0;
        let read = 0;
        for (const [, entries] of reply ?? []) {
          read += entries.length;
          for (const [id, fields] of entries) {
            const entry = fieldMap(fields);
            if (Number(entry.get("seq")) !== this.#lastSeq + 1) {
              // Entries are missing before this one (trimmed, or Redis lost data): start over.
              await this.#resync();
              break;
            }
            this.#deliver({ issuer: entry.get("iss") ?? "", jti: entry.get("jti") ?? "", expiresAt: Number(entry.get("exp")) / 1000 });
            this.#lastId = id;
            this.#lastSeq += 1;
          }
        }
        // A full batch may have more behind it: in sync only once a read comes back short.
        if (read < FEED_BATCH) this.#synced();
      } catch {
        if (this.#stopped) return;
        this.stats.readErrors++;
        failures++;
        await delay(Math.min(50 * 2 ** Math.min(failures, 5), 1000));
      }
    }
  }

  async #resync(): Promise<void> {
    this.stats.resyncs++;
    await this.#snapshot();
  }

  /** Resolves when the connection is ready, or after `timeoutMs` (rejects then, unless stopped). */
  #ready(timeoutMs: number): Promise<void> {
    if (this.#connection.status === "ready") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.#connection.off("ready", onReady);
        if (err && !this.#stopped) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error("not connected")), timeoutMs);
      this.#connection.on("ready", onReady);
    });
  }
}

function fieldMap(fields: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
