// A subscriber's side of the revocation feed (see RedisDenyList): a snapshot of the
// revocations in force, then XREAD BLOCK on a connection of its own, resyncing
// after a gap in the sequence numbers.
import type { Logger } from "../../internal/logger.js";
import type { ServiceEvents } from "../../internal/service-events.js";
import type { RevocationEvent, RevocationSubscriberHooks } from "../types.js";
import type { KeyLayout } from "./key-layout.js";
import { FEED_INTACT, FEED_SNAPSHOT } from "./lua-scripts.js";
import { blockingConnection, type RedisClient } from "./redis-client.js";
import { type RedisOperation, redisCall, redisOperation } from "./redis-call.js";
import { delay } from "../../internal/delay.js";

/** Counters of the feed's subscriptions, for metrics and tests. */
export interface FeedStats {
  /** Subscriptions started over from the revocations in force, after a gap in the feed. */
  resyncs: number;
  /** Reads that failed (lost connection, timeout) and were retried. */
  readErrors: number;
}

/** What a subscription needs of the deny-list's options. */
export interface FeedSubscriptionOptions {
  commandTimeoutMs: number;
  /** How long one read blocks (the heartbeat of a quiet feed). Default 5000. */
  feedBlockMs?: number | undefined;
  /** Where the feed's lag is reported (metrics). */
  events?: ServiceEvents | undefined;
}

/** Entries one read of the feed returns at most. */
const FEED_BATCH = 1000;

/** One subscriber's connection and position in the feed. */
export class FeedSubscription {
  readonly #connection: RedisClient;
  readonly #blockMs: number;
  #lastId = "0-0";
  #lastSeq = 0;
  /** The revocation epoch marker read with the last snapshot: the feed's identity in positions. */
  #feed = "";
  #stopped = false;
  readonly #start: RedisOperation;

  constructor(
    client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly options: FeedSubscriptionOptions,
    private readonly listener: (event: RevocationEvent) => void,
    private readonly hooks: RevocationSubscriberHooks,
    private readonly stats: FeedStats,
    private readonly logger: Logger,
    private readonly onStop: () => void,
  ) {
    this.#start = redisOperation("revocation_feed.start", options.events);
    this.#blockMs = options.feedBlockMs ?? 5000;
    this.#connection = blockingConnection(client, this.#blockMs, options.commandTimeoutMs, `${keys.prefix}feed`);
    this.#connection.on("error", () => {});
  }

  async start(): Promise<void> {
    await redisCall(
      this.#start,
      async () => {
        await this.#ready(this.options.commandTimeoutMs);
        await this.#snapshot();
      },
      this.options.commandTimeoutMs * 2,
    );
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
    const [lastId, seq, inForce, epoch] = (await FEED_SNAPSHOT.run(
      this.#connection,
      [this.keys.revoked, this.keys.feed, this.keys.feedSeq, this.keys.revocationEpoch],
      [],
    )) as [string, number, string[], string];
    for (let i = 0; i + 1 < inForce.length; i += 2) {
      const [issuer, jti, issuedBeforeMs] = JSON.parse(inForce[i]!) as [string, string, number?];
      const expiresAt = Number(inForce[i + 1]) / 1000;
      this.#deliver(issuedBeforeMs === undefined ? { issuer, jti, expiresAt } : { issuer, jti, expiresAt, issuedBefore: issuedBeforeMs / 1000 });
    }
    this.#lastId = lastId;
    this.#lastSeq = Number(seq);
    this.#feed = epoch;
    this.#position("snapshot");
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

  #position(kind: "entry" | "snapshot"): void {
    if (this.#stopped || this.hooks.onPosition === undefined) return;
    try {
      this.hooks.onPosition({ feed: this.#feed, seq: this.#lastSeq }, kind);
    } catch (err) {
      this.logger.error("revocation feed position hook failed", { error: err instanceof Error ? err.message : String(err) });
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
            // A stream id starts with Redis' clock (ms) when the entry was written.
            this.options.events?.revocationFeedLag(Math.max(0, Date.now() - Number(id.slice(0, id.indexOf("-")))) / 1000);
            this.#lastId = id;
            this.#lastSeq += 1;
            this.#position("entry");
            this.#deliver(eventOf(entry));
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

/** The revocation a feed entry carries (fields iss, jti, exp in ms, and ib in ms for a client cut-off). */
function eventOf(entry: Map<string, string>): RevocationEvent {
  const event = { issuer: entry.get("iss") ?? "", jti: entry.get("jti") ?? "", expiresAt: Number(entry.get("exp")) / 1000 };
  const issuedBefore = entry.get("ib");
  return issuedBefore === undefined ? event : { ...event, issuedBefore: Number(issuedBefore) / 1000 };
}

function fieldMap(fields: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
}
