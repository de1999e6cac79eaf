import type { ManagedClientStore } from "../../registry/client-store.js";
import type { ManagedClient, ManagedClientDraft } from "../../registry/managed-client.js";
import type { Logger } from "../../internal/logger.js";
import { silentLogger } from "../../internal/logger.js";
import type { KeyLayout } from "./key-layout.js";
import { CLIENTS_SNAPSHOT, RAISE_CLIENTS_SEQ, READ_CLIENT, REMOVE_CLIENT, WRITE_CLIENT } from "./lua-scripts.js";
import type { ServiceEvents } from "../../internal/service-events.js";
import { type RedisOperation, redisCall, redisOperations } from "./redis-call.js";

import type { RedisClient } from "./redis-client.js";

/** Options of RedisClientStore. */
export interface RedisClientStoreOptions {
  commandTimeoutMs: number;
  /** How often the whole set is read again, in case a change message was lost (e.g. a Cluster failover), in ms. Default 30000. */
  resyncMs?: number;
  logger?: Logger;
  /** Observes each Redis call (the command-latency metric, spans). */
  events?: ServiceEvents | undefined;
}

function parse(document: string, version: number): ManagedClient {
  return Object.freeze({ ...(JSON.parse(document) as ManagedClientDraft), version });
}

/**
 * The clients of the admin API in Redis, shared by every replica: two hashes
 * (documents and versions) and a counter under the hash tag {clients},
 * changed only by scripts that compare and set a client's version and
 * publish the change with its document. Each replica keeps a copy in memory:
 * it applies the published changes as they come (no round trip), and reads
 * the whole set again when its subscription is (re)established and every
 * `resyncMs`. Versions come from one counter, so a change never goes back to
 * an older state, whichever arrives first: a message or a snapshot.
 */
export class RedisClientStore implements ManagedClientStore {
  readonly #clients = new Map<string, ManagedClient>();
  /** Removals seen in messages, by id: the removal's version (a snapshot older than it must not bring the client back). */
  readonly #removed = new Map<string, number>();
  readonly #listeners = new Set<(clientId: string) => void>();
  readonly #keys: [string, string, string];
  readonly #channel: string;
  readonly #subscriber: RedisClient;
  readonly #timer: NodeJS.Timeout;
  readonly #logger: Logger;
  readonly #ops: Record<"read" | "write" | "remove" | "snapshot" | "sequence", RedisOperation>;
  #loaded!: () => void;
  #ready = false;
  /** Resolves once the first snapshot is in memory. */
  readonly loaded: Promise<void> = new Promise((resolve) => (this.#loaded = resolve));

  constructor(
    private readonly client: RedisClient,
    keys: KeyLayout,
    private readonly options: RedisClientStoreOptions,
  ) {
    this.#keys = keys.clients;
    this.#channel = keys.clientChanges;
    this.#logger = options.logger ?? silentLogger;
    this.#ops = redisOperations(options.events, {
      read: "clients.read",
      write: "clients.write",
      remove: "clients.remove",
      snapshot: "clients.snapshot",
      sequence: "clients.sequence",
    });
    this.#subscriber = this.#follow();
    this.#timer = setInterval(() => void this.resync().catch(() => {}), options.resyncMs ?? 30_000);
    this.#timer.unref();
  }

  get ready(): boolean {
    return this.#ready;
  }

  get(clientId: string): ManagedClient | undefined {
    return this.#clients.get(clientId);
  }

  list(): ManagedClient[] {
    return [...this.#clients.values()];
  }

  async read(clientId: string): Promise<ManagedClient | undefined> {
    const [document, version] = (await redisCall(
      this.#ops.read,
      () => READ_CLIENT.run(this.client, this.#keys.slice(0, 2), [clientId]),
      this.options.commandTimeoutMs,
    )) as [string | null, string | null];
    if (document === null || version === null) return undefined;
    return parse(document, Number(version));
  }

  async write(client: ManagedClientDraft, expectedVersion: number): Promise<ManagedClient | undefined> {
    const document = JSON.stringify(client);
    const version = Number(
      await redisCall(
        this.#ops.write,
        () => WRITE_CLIENT.run(this.client, this.#keys, [client.id, expectedVersion, document, this.#channel]),
        this.options.commandTimeoutMs,
      ),
    );
    if (version === 0) return undefined;
    // This replica applies its own write at once; the message that follows finds it current.
    return this.#apply(client.id, version, document);
  }

  async remove(clientId: string, expectedVersion: number): Promise<boolean> {
    const version = Number(
      await redisCall(
        this.#ops.remove,
        () => REMOVE_CLIENT.run(this.client, this.#keys, [clientId, expectedVersion, this.#channel]),
        this.options.commandTimeoutMs,
      ),
    );
    if (version === 0) return false;
    this.#apply(clientId, version, "");
    return true;
  }

  onChange(listener: (clientId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads every client again and replaces this replica's copy, keeping what
   * newer messages brought meanwhile. A counter below the versions this
   * replica holds means Redis lost the clients (a restart without
   * persistence, a failover to an empty replica): they are written back from
   * this copy first, never dropped.
   */
  async resync(): Promise<void> {
    await this.#reseedAfterLoss();
    const [seq, documents, versions] = (await redisCall(
      this.#ops.snapshot,
      () => CLIENTS_SNAPSHOT.run(this.client, this.#keys, []),
      this.options.commandTimeoutMs,
    )) as [number, string[], string[]];
    const versionOf = new Map<string, number>();
    for (let i = 0; i + 1 < versions.length; i += 2) versionOf.set(versions[i]!, Number(versions[i + 1]));
    const seen = new Set<string>();
    for (let i = 0; i + 1 < documents.length; i += 2) {
      const id = documents[i]!;
      const version = versionOf.get(id);
      if (version === undefined) continue;
      seen.add(id);
      this.#apply(id, version, documents[i + 1]!);
    }
    for (const [id, client] of this.#clients) {
      // Absent from a snapshot taken after this copy was made: removed (a message may have been lost).
      if (seen.has(id) || client.version > seq) continue;
      this.#clients.delete(id);
      this.#removed.set(id, seq);
      for (const listener of this.#listeners) listener(id);
    }
    for (const [id, version] of this.#removed) if (version <= seq) this.#removed.delete(id);
    this.#ready = true;
    this.#loaded();
  }

  async #reseedAfterLoss(): Promise<void> {
    let held = 0;
    for (const client of this.#clients.values()) held = Math.max(held, client.version);
    for (const version of this.#removed.values()) held = Math.max(held, version);
    if (held === 0) return;
    const [seqKey] = this.#keys.slice(2);
    const seq = Number((await redisCall(this.#ops.sequence, () => this.client.get(seqKey!), this.options.commandTimeoutMs)) ?? 0);
    if (seq >= held) return;
    this.#logger.warn("client registry: Redis lost the clients; writing back this replica's copy", { clients: this.#clients.size });
    await redisCall(this.#ops.sequence, () => RAISE_CLIENTS_SEQ.run(this.client, [seqKey!], [held]), this.options.commandTimeoutMs);
    for (const client of [...this.#clients.values()]) {
      const { version: _, ...draft } = client;
      // Expected version 0: absent. Another replica that re-seeded it first wins; the snapshot then brings its copy.
      await redisCall(
        this.#ops.write,
        () => WRITE_CLIENT.run(this.client, this.#keys, [client.id, 0, JSON.stringify(draft), this.#channel]),
        this.options.commandTimeoutMs,
      );
    }
  }

  /** Stops following changes. */
  close(): void {
    clearInterval(this.#timer);
    this.#subscriber.disconnect();
  }

  /** Applies one change (an empty document: removed) unless this copy is already as new; returns the client as it now stands. */
  #apply(id: string, version: number, document: string): ManagedClient | undefined {
    const current = this.#clients.get(id)?.version ?? this.#removed.get(id) ?? 0;
    if (current >= version) return this.#clients.get(id);
    if (document === "") {
      this.#clients.delete(id);
      this.#removed.set(id, version);
    } else {
      this.#clients.set(id, parse(document, version));
      this.#removed.delete(id);
    }
    for (const listener of this.#listeners) listener(id);
    return this.#clients.get(id);
  }

  /** Subscribes on a connection of its own; reads everything again whenever the subscription is (re)established. */
  #follow(): RedisClient {
    const subscriber = this.client.duplicate();
    subscriber.on("error", () => {});
    subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      const first = message.indexOf("\n");
      const second = message.indexOf("\n", first + 1);
      if (first <= 0 || second < 0) return;
      this.#apply(message.slice(first + 1, second), Number(message.slice(0, first)), message.slice(second + 1));
    });
    const subscribe = () =>
      void subscriber
        .subscribe(this.#channel)
        .then(() => this.resync())
        .catch((err: unknown) => this.#logger.warn("client registry resync failed", { reason: err instanceof Error ? err.message : String(err) }));
    subscriber.on("ready", subscribe);
    if (subscriber.status === "ready") subscribe();
    return subscriber;
  }
}
