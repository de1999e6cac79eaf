// One subscription to the store's revocation feed per replica, served to any number of
// WatchRevocations streams from memory: the revocations in force (for snapshots) and a ring of
// recent ones with increasing positions (for resuming from a cursor).
import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RevocationSchema, WatchRevocationsResponseSchema } from "../../gen/tessera/v1/token_service_pb.js";
import { RateLimitedError, TemporarilyUnavailableError, type TesseraError } from "../errors/tessera-error.js";
import type { Clock } from "../internal/clock.js";
import { ExpiringMap } from "../internal/expiring-map.js";
import { silentLogger, type Logger } from "../internal/logger.js";
import { mergeClientRevocation, revocationKind } from "../store/revocation-kinds.js";
import type { RevocationEvent, RevocationFeed } from "../store/types.js";
import type { ReadinessSource } from "./readiness.js";

type WatchRevocationsMessage = MessageInitShape<typeof WatchRevocationsResponseSchema>;

/** Options of RevocationFanout (the `watch` settings). */
export interface RevocationFanoutOptions {
  /** Longest an idle stream goes without a message, in ms. */
  heartbeatMs: number;
  /** Recent revocations kept for watchers that resume from a cursor; one further behind gets a snapshot. */
  historySize: number;
  /** Revocations one watcher may have waiting while it does not read; past it, its stream is reset. */
  maxQueuedPerWatcher: number;
  /** Streams one replica serves at most (WatchRevocations and WatchKeys together); more are refused UNAVAILABLE. */
  maxWatchers: number;
  /** Revocations per message. Default 500. */
  batchSize?: number;
  /** Whether the replica's store answers (readiness); streams end UNAVAILABLE while it does not. */
  readiness?: readonly ReadinessSource[];
  clock: Clock;
  logger?: Logger;
}

/** What a stream's transport offers the watcher. */
export interface WatchCall {
  /** Aborts when the client goes away or the transport ends the call. */
  readonly signal: AbortSignal;
  /**
   * Resets the stream at once (HTTP/2 RST_STREAM ENHANCE_YOUR_CALM, which gRPC and Connect clients
   * read as RESOURCE_EXHAUSTED), for a watcher whose transport buffer is full and so cannot be sent
   * a status any more. Absent: the stream ends with the status once the transport pulls again.
   */
  readonly reset?: (() => void) | undefined;
}

interface Entry {
  readonly seq: number;
  readonly event: RevocationEvent;
  /** The event as the stream carries it, made once for every watcher. */
  readonly message: RevocationMessage;
}

type RevocationMessage = MessageInitShape<typeof RevocationSchema>;

/** Waits between two attempts to subscribe to an unreachable feed: 100 ms, doubling, at most this. */
const MAX_RETRY_DELAY_MS = 2000;

/**
 * The fan-out of one replica. A cursor is `<epoch>.<position>`: the epoch is
 * random per process, so a cursor from another replica or an earlier life of
 * this one (or one older than the history) starts a snapshot; within the
 * epoch, positions increase by one per revocation the replica learned.
 */
export class RevocationFanout {
  readonly epoch = randomBytes(9).toString("base64url");
  readonly #feed: RevocationFeed | undefined;
  readonly #options: RevocationFanoutOptions;
  readonly #logger: Logger;
  /** The revocations in force, each with its message (shared by every snapshot). */
  readonly #inForce: ExpiringMap<Entry>;
  readonly #history: (Entry | undefined)[];
  readonly #watchers = new Set<{ fail(error: TesseraError): void }>();
  #seq = 0;
  #subscribed = false;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #unsubscribe: (() => void) | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #stopReadiness: (() => void)[] = [];
  #closed: TesseraError | undefined;
  #subscribedNow: () => void = () => {};
  readonly #firstSubscription = new Promise<void>((resolve) => (this.#subscribedNow = resolve));

  /** Without a feed (a deny-list given that is not one) the replica never serves watchers: they are refused UNAVAILABLE. */
  constructor(feed: RevocationFeed | undefined, options: RevocationFanoutOptions) {
    this.#feed = feed;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#inForce = new ExpiringMap(options.clock);
    this.#history = new Array<Entry | undefined>(Math.max(1, options.historySize));
  }

  /** Subscribes to the feed (retrying in the background while it cannot be reached) and starts watching its health. */
  start(): void {
    const feed = this.#feed;
    if (feed === undefined) return;
    let failures = 0;
    const attempt = async () => {
      this.#retryTimer = undefined;
      try {
        const unsubscribe = await feed.subscribe((event) => this.#learn(event), { onSynced: () => (this.#syncedAt = performance.now()) });
        if (this.#closed !== undefined) return unsubscribe();
        this.#unsubscribe = unsubscribe;
        this.#subscribed = true;
        this.#syncedAt = performance.now();
        this.#subscribedNow();
      } catch (err) {
        if (this.#closed !== undefined) return;
        failures++;
        this.#logger.warn("revocation fan-out cannot subscribe to the feed yet", { error: err instanceof Error ? err.message : String(err) });
        this.#retryTimer = setTimeout(() => void attempt(), Math.min(100 * 2 ** (failures - 1), MAX_RETRY_DELAY_MS));
        this.#retryTimer.unref();
      }
    };
    void attempt();
    const check = () => {
      if (!this.available)
        this.#failAll(new TemporarilyUnavailableError("this replica has lost its revocation store; reconnect, to another replica if need be"));
    };
    for (const source of this.#options.readiness ?? []) this.#stopReadiness.push(source.onReadyChange(check));
    this.#healthTimer = setInterval(check, Math.max(100, Math.min(this.#options.heartbeatMs, feed.heartbeatMs ?? Number.POSITIVE_INFINITY)));
    this.#healthTimer.unref();
  }

  /** Resolves once subscribed to the feed (true), or after `timeoutMs` (false). */
  async waitUntilSubscribed(timeoutMs: number): Promise<boolean> {
    if (this.#subscribed) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#firstSubscription, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return this.#subscribed;
  }

  /**
   * Whether the replica can vouch for its revocations now: subscribed, its store ready, and (for a
   * feed that crosses a network) heard from within twice the feed's heartbeat plus a second.
   */
  get available(): boolean {
    if (this.#closed !== undefined || !this.#subscribed) return false;
    if (!(this.#options.readiness ?? []).every((s) => s.ready)) return false;
    const feedHeartbeat = this.#feed?.heartbeatMs;
    return feedHeartbeat === undefined || performance.now() - this.#syncedAt <= 2 * feedHeartbeat + 1000;
  }

  /** Streams being served (WatchRevocations and WatchKeys). */
  get watchers(): number {
    return this.#watchers.size;
  }

  /** The current position as a cursor. */
  get cursor(): string {
    return `${this.epoch}.${this.#seq}`;
  }

  /** Stops the subscription and ends every stream with `reason` (UNAVAILABLE on shutdown). */
  close(reason: TesseraError = new TemporarilyUnavailableError("the server is shutting down; reconnect to another replica")): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#healthTimer);
    for (const stop of this.#stopReadiness.splice(0)) stop();
    this.#unsubscribe?.();
    this.#failAll(reason);
  }

  /**
   * Registers a stream that is not a revocation watcher (WatchKeys) under the same cap and the same
   * end on shutdown or loss of the store. Throws when the cap is reached or the replica is unavailable.
   */
  admit(watcher: { fail(error: TesseraError): void }): () => void {
    this.#refuseNewWatcher();
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  #refuseNewWatcher(): void {
    if (this.#closed !== undefined) throw this.#closed;
    if (!this.available) throw new TemporarilyUnavailableError("this replica cannot vouch for its revocations now; try another replica");
    if (this.#watchers.size >= this.#options.maxWatchers)
      throw new TemporarilyUnavailableError("this replica serves its maximum of watchers; try another replica");
  }

  #failAll(error: TesseraError): void {
    for (const watcher of [...this.#watchers]) watcher.fail(error);
  }

  #learn(event: RevocationEvent): void {
    const key = `${event.issuer}\u0000${event.jti}`;
    const held = this.#inForce.get(key)?.event;
    let next: RevocationEvent | undefined = event;
    if (event.issuedBefore !== undefined) next = mergeClientRevocation(held, event);
    else if (held !== undefined && held.expiresAt >= event.expiresAt) next = undefined;
    // Known already (a resync of the feed delivers everything in force again): nothing new for watchers.
    if (next === undefined) return;
    const entry: Entry = { seq: ++this.#seq, event: next, message: revocationMessage(next) };
    this.#inForce.set(key, entry, next.expiresAt);
    this.#history[entry.seq % this.#history.length] = entry;
    for (const watcher of this.#watchers) if (watcher instanceof RevocationWatcher) watcher.push(entry);
  }

  /** The entries after `seq`, if the history still holds every one of them. */
  #since(seq: number): Entry[] | undefined {
    if (seq > this.#seq || seq < this.#seq - this.#history.length) return undefined;
    const entries: Entry[] = [];
    for (let s = seq + 1; s <= this.#seq; s++) {
      const entry = this.#history[s % this.#history.length];
      if (entry?.seq !== s) return undefined;
      entries.push(entry);
    }
    return entries;
  }

  /** The position a cursor of this replica's epoch names, else undefined. */
  #position(cursor: string): number | undefined {
    const dot = cursor.lastIndexOf(".");
    if (dot < 0 || cursor.slice(0, dot) !== this.epoch) return undefined;
    const seq = Number(cursor.slice(dot + 1));
    return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
  }

  /**
   * One WatchRevocations stream: a snapshot (unless `cursor` is of this epoch and still in the
   * history: then what was missed), then deltas and heartbeats. Throws (before the first message)
   * when the replica is unavailable or full.
   */
  watch(cursor: string, call: WatchCall): AsyncIterable<WatchRevocationsMessage> {
    this.#refuseNewWatcher();
    const position = this.#position(cursor);
    const missed = position === undefined ? undefined : this.#since(position);
    const snapshot = missed === undefined ? Array.from(this.#inForce.values(), (e) => e.message) : undefined;
    const watcher = new RevocationWatcher(this.#options, call, this.#seq, snapshot, this.epoch, {
      leave: () => this.#watchers.delete(watcher),
      available: () => this.available,
    });
    for (const entry of missed ?? []) watcher.push(entry);
    this.#watchers.add(watcher);
    return watcher.messages();
  }
}

/** One stream's state: what it still has to send, bounded by maxQueuedPerWatcher. */
class RevocationWatcher {
  readonly #queue: Entry[] = [];
  #failed: TesseraError | undefined;
  #wake: (() => void) | undefined;
  #sentSeq: number;

  constructor(
    private readonly options: RevocationFanoutOptions,
    private readonly call: WatchCall,
    startSeq: number,
    private snapshot: RevocationMessage[] | undefined,
    private readonly epoch: string,
    private readonly fanout: { leave(): void; available(): boolean },
  ) {
    this.#sentSeq = startSeq;
  }

  push(entry: Entry): void {
    if (this.#failed !== undefined) return;
    this.#queue.push(entry);
    if (this.#queue.length > this.options.maxQueuedPerWatcher) {
      this.fail(new RateLimitedError(1, "the watcher does not read fast enough; reconnect with the last cursor"));
      this.call.reset?.();
      return;
    }
    this.#wake?.();
  }

  fail(error: TesseraError): void {
    if (this.#failed !== undefined) return;
    this.#failed = error;
    this.#queue.length = 0;
    this.snapshot = undefined;
    this.fanout.leave();
    this.#wake?.();
  }

  #message(revocations: RevocationMessage[], fields: { reset?: boolean; synced: boolean; cursor: boolean }): WatchRevocationsMessage {
    return {
      reset: fields.reset ?? false,
      revocations,
      synced: fields.synced,
      cursor: fields.cursor ? `${this.epoch}.${this.#sentSeq}` : "",
      heartbeatIntervalMs: this.options.heartbeatMs,
    };
  }

  async *messages(): AsyncGenerator<WatchRevocationsMessage> {
    const batch = this.options.batchSize ?? 500;
    const onAbort = () => this.fail(new TemporarilyUnavailableError("the watcher went away"));
    this.call.signal.addEventListener("abort", onAbort);
    try {
      const snapshot = this.snapshot;
      this.snapshot = undefined;
      if (snapshot !== undefined) {
        for (let i = 0; i === 0 || i < snapshot.length; i += batch) {
          if (this.#failed !== undefined) throw this.#failed;
          const last = i + batch >= snapshot.length;
          yield this.#message(snapshot.slice(i, i + batch), { reset: i === 0, synced: last, cursor: last });
        }
      }
      while (true) {
        if (this.#failed !== undefined) throw this.#failed;
        if (this.#queue.length > 0) {
          const entries = this.#queue.splice(0, batch);
          this.#sentSeq = entries[entries.length - 1]!.seq;
          yield this.#message(
            entries.map((e) => e.message),
            { synced: this.#queue.length === 0, cursor: true },
          );
          continue;
        }
        if (!(await this.#idle())) continue;
        // A heartbeat claims sync: never sent by a replica that cannot vouch for it (its health check may lag).
        if (!this.fanout.available())
          throw new TemporarilyUnavailableError("this replica has lost its revocation store; reconnect, to another replica if need be");
        yield this.#message([], { synced: true, cursor: true });
      }
    } finally {
      this.call.signal.removeEventListener("abort", onAbort);
      this.fail(new TemporarilyUnavailableError("the stream ended"));
    }
  }

  /** Waits for news or a failure (false) or for the heartbeat interval to pass (true). */
  #idle(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(true);
      }, this.options.heartbeatMs);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(false);
      };
    });
  }
}

/** A revocation as the stream carries it. */
export function revocationMessage(event: RevocationEvent): RevocationMessage {
  const kind = revocationKind(event);
  const expiresAt = BigInt(Math.ceil(kind.expiresAt));
  switch (kind.kind) {
    case "token":
      return { kind: { case: "token", value: { issuer: kind.issuer, jti: kind.jti, expiresAt } } };
    case "key":
      return { kind: { case: "key", value: { issuer: kind.issuer, kid: kind.kid, expiresAt } } };
    case "client":
      return {
        kind: { case: "client", value: { issuer: kind.issuer, clientId: kind.clientId, issuedBefore: BigInt(Math.ceil(kind.issuedBefore)), expiresAt } },
      };
  }
}
