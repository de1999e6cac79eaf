import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ClientConfig } from "../../config/types.js";
import { InvalidClientError, TesseraError } from "../../errors/tessera-error.js";
import type { Clock } from "../../internal/clock.js";
import type { ServiceEvents } from "../../internal/service-events.js";
import type { KeyRecord } from "../../keys/key-record.js";

/** The label of a client id that is not registered: unknown ids never become label values. */
export const UNKNOWN_CLIENT = "(unknown)";
/** The label of an audience no client is granted. */
export const OTHER_AUDIENCE = "(other)";

/** What the metrics read when Prometheus scrapes, rather than being told. */
export interface ScrapedState {
  /** Whether Redis answers; undefined when the state lives in memory (no Redis metric). */
  redisUp?: (() => boolean) | undefined;
  /** The signing keys (managed keys only). */
  keyRecords?: (() => readonly Omit<KeyRecord, "sealed">[]) | undefined;
  /** How long a managed key signs before the next takes over, in seconds. */
  rotationPeriodSeconds?: number | undefined;
}

export interface ServerMetricsOptions {
  /** The registered clients: the only client ids and audiences that become label values. */
  clients: readonly ClientConfig[];
  version: string;
  clock: Clock;
}

type IssuedLabels = Record<"client" | "audience" | "grant_type" | "auth_method", string>;

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

/** The refusal labels of an error: the OAuth error, and the server-side reason (never told to the client). */
export function refusalLabels(err: unknown): { error: string; reason: string } {
  if (err instanceof InvalidClientError) return { error: err.error, reason: err.reason };
  if (err instanceof TesseraError) return { error: err.error, reason: err.code };
  return { error: "server_error", reason: "internal" };
}

/**
 * The token service's Prometheus metrics (prom-client), in a registry of their
 * own. Label values are bounded: client labels are registered client ids
 * (anything else is UNKNOWN_CLIENT), audience labels are audiences some client
 * is granted or serves (else OTHER_AUDIENCE), reasons are fixed codes, and
 * endpoints and RPCs are the service's own.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #clientIds: ReadonlySet<string>;
  readonly #audiences: ReadonlySet<string>;
  /**
   * Tokens issued since the counter was last read, by label set (bounded: registered clients and
   * audiences, fixed grant types and methods). A token costs a Map lookup here; the counter takes
   * the counts when it is collected (every scrape), so what it exposes is the same.
   */
  readonly #issuedSinceScrape = new Map<string, { labels: IssuedLabels; count: number }>();
  readonly #refusals: Counter<"endpoint" | "error" | "reason">;
  readonly #httpDuration: Histogram<"endpoint" | "status">;
  readonly #rpcDuration: Histogram<"method" | "code">;
  readonly #cache: Counter<"result">;
  readonly #revocations: Counter<"client">;
  readonly #throttleBlocks: Counter;
  readonly #watchers: Gauge<"stream">;
  readonly #redisLatency: Histogram;
  readonly #redisCommands: Histogram<"operation" | "result">;
  /** Children of #redisCommands by operation and result: a store's hot path skips the label lookup. */
  readonly #redisCommandChildren = new Map<string, { observe(seconds: number): void }>();
  readonly #feedLag: Histogram;
  readonly #clock: Clock;

  constructor(options: ServerMetricsOptions) {
    this.#clock = options.clock;
    this.#clientIds = new Set(options.clients.map((c) => c.id));
    this.#audiences = new Set(options.clients.flatMap((c) => [c.id, ...c.audiences, ...c.grants.map((g) => g.audience)]));
    const registers = [this.registry];
    const issuedSinceScrape = this.#issuedSinceScrape;
    new Counter<keyof IssuedLabels>({
      name: "tessera_tokens_issued_total",
      help: "Access tokens issued, by client, audience, grant type and client authentication method.",
      labelNames: ["client", "audience", "grant_type", "auth_method"],
      registers,
      collect() {
        for (const counted of issuedSinceScrape.values()) {
          if (counted.count === 0) continue;
          this.inc(counted.labels, counted.count);
          counted.count = 0;
        }
      },
    });
    this.#refusals = new Counter({
      name: "tessera_refusals_total",
      help: "Requests refused, by endpoint or RPC, OAuth error and server-side reason.",
      labelNames: ["endpoint", "error", "reason"],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "tessera_http_request_duration_seconds",
      help: "Duration of OAuth HTTP endpoint requests, by endpoint and status.",
      labelNames: ["endpoint", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#rpcDuration = new Histogram({
      name: "tessera_rpc_duration_seconds",
      help: "Duration of tessera.v1.TokenService calls (gRPC, Connect, gRPC-Web), by method and outcome (OK or the OAuth error).",
      labelNames: ["method", "code"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#cache = new Counter({
      name: "tessera_introspection_cache_total",
      help: "Introspection cache lookups, by result (hit, miss).",
      labelNames: ["result"],
      registers,
    });
    this.#revocations = new Counter({
      name: "tessera_revocations_total",
      help: "Tokens revoked, by the client that revoked them.",
      labelNames: ["client"],
      registers,
    });
    this.#throttleBlocks = new Counter({
      name: "tessera_throttle_blocks_total",
      help: "Requests refused (429) because their (client, source) failed authentication too often.",
      registers,
    });
    this.#watchers = new Gauge({ name: "tessera_watchers", help: "Subscribers connected to a watch stream, by stream.", labelNames: ["stream"], registers });
    this.#redisLatency = new Histogram({
      name: "tessera_redis_ping_duration_seconds",
      help: "Round trip of the Redis health probe's PING (every second).",
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#redisCommands = new Histogram({
      name: "tessera_redis_command_duration_seconds",
      help: "Redis calls the stores made, by operation (a fixed set) and result (ok, error), including time spent waiting for a connection.",
      labelNames: ["operation", "result"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#feedLag = new Histogram({
      name: "tessera_revocation_feed_lag_seconds",
      help: "How long after it was written a revocation was read from the feed by this replica.",
      buckets: LAG_BUCKETS,
      registers,
    });
    new Gauge({ name: "tessera_build_info", help: "Always 1; the labels say which build runs.", labelNames: ["version", "node"], registers }).set(
      { version: options.version, node: process.version },
      1,
    );
  }

  /** Adds the gauges read at scrape time: Redis up, key ages, time to the next rotation. Call once. */
  track(state: ScrapedState): void {
    const registers = [this.registry];
    const clock = this.#clock;
    const { redisUp, keyRecords, rotationPeriodSeconds } = state;
    if (redisUp !== undefined) {
      new Gauge({
        name: "tessera_redis_up",
        help: "1 while Redis answers, else 0.",
        registers,
        collect() {
          this.set(redisUp() ? 1 : 0);
        },
      });
    }
    if (keyRecords !== undefined) {
      new Gauge({
        name: "tessera_signing_key_age_seconds",
        help: "Seconds since each published signing key was published, by kid and state.",
        labelNames: ["kid", "state"],
        registers,
        collect() {
          this.reset();
          const now = clock.now() / 1000;
          for (const r of keyRecords()) if (r.state !== "revoked") this.set({ kid: r.kid, state: r.state }, Math.max(0, now - r.publishedAt));
        },
      });
      if (rotationPeriodSeconds !== undefined) {
        new Gauge({
          name: "tessera_signing_key_next_rotation_seconds",
          help: "Seconds until the active signing key is due to be replaced (negative: overdue).",
          registers,
          collect() {
            const active = keyRecords().find((r) => r.state === "active");
            if (active !== undefined) this.set((active.activatedAt ?? active.publishedAt) + rotationPeriodSeconds - clock.now() / 1000);
          },
        });
      }
    }
  }

  #client(id: string): string {
    return this.#clientIds.has(id) ? id : UNKNOWN_CLIENT;
  }

  #audience(audience: string): string {
    return this.#audiences.has(audience) ? audience : OTHER_AUDIENCE;
  }

  /** The metrics' side of ServiceEvents. */
  readonly events: Omit<ServiceEvents, "clientAuthRefused" | "keyChanged"> = {
    tokenIssued: (e) => {
      const key = `${e.clientId}\u0000${e.audience}\u0000${e.grantType}\u0000${e.authMethod}`;
      let counted = this.#issuedSinceScrape.get(key);
      if (counted === undefined) {
        const labels = { client: this.#client(e.clientId), audience: this.#audience(e.audience), grant_type: e.grantType, auth_method: e.authMethod };
        // Kept under its labels: unregistered ids and audiences share one entry, so that they cannot grow the map.
        const bounded = `${labels.client}\u0000${labels.audience}\u0000${e.grantType}\u0000${e.authMethod}`;
        counted = this.#issuedSinceScrape.get(bounded) ?? { labels, count: 0 };
        this.#issuedSinceScrape.set(bounded, counted);
      }
      counted.count++;
    },
    tokenRevoked: (e) => this.#revocations.inc({ client: this.#client(e.clientId) }),
    throttleBlocked: () => this.#throttleBlocks.inc(),
    introspectionCache: (hit) => this.#cache.inc({ result: hit ? "hit" : "miss" }),
    watcherConnected: (stream) => {
      this.#watchers.inc({ stream });
      let connected = true;
      return () => {
        if (connected) this.#watchers.dec({ stream });
        connected = false;
      };
    },
    revocationFeedLag: (seconds) => this.#feedLag.observe(seconds),
    redisLatency: (seconds) => this.#redisLatency.observe(seconds),
    redisCommand: (operation, seconds, ok) => {
      const key = ok ? operation : `${operation}\u0000error`;
      let child = this.#redisCommandChildren.get(key);
      if (child === undefined) {
        child = this.#redisCommands.labels({ operation, result: ok ? "ok" : "error" });
        this.#redisCommandChildren.set(key, child);
      }
      child.observe(seconds);
    },
  };

  /** One OAuth HTTP endpoint request, with the error it was refused with, if any. */
  httpRequest(endpoint: string, status: number, seconds: number, err: unknown): void {
    this.#httpDuration.observe({ endpoint, status: String(status) }, seconds);
    if (err !== undefined) this.#refusals.inc({ endpoint, ...refusalLabels(err) });
  }

  /** One TokenService call, with the error it was refused with, if any. */
  rpc(method: string, seconds: number, err: unknown): void {
    const labels = err === undefined ? undefined : refusalLabels(err);
    this.#rpcDuration.observe({ method, code: labels?.error ?? "ok" }, seconds);
    if (labels !== undefined) this.#refusals.inc({ endpoint: method, ...labels });
  }
}
