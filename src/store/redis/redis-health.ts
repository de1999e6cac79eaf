import { silentLogger, type Logger } from "../../internal/logger.js";
import { noServiceEvents, type ServiceEvents } from "../../internal/service-events.js";
import { classifyRedisFailure, type RedisFailure } from "./redis-failure.js";
import type { RedisClient } from "./redis-client.js";
import { withDeadline } from "./redis-call.js";

/** While Redis stays down, the same failure is logged again at most this often. */
const REPEAT_MS = 30_000;

/**
 * Whether Redis answers, kept up to date for readiness (/readyz, gRPC
 * health): down at once when the connection closes, up again once a PING
 * succeeds; a PING every `intervalMs` also catches a server that hangs with
 * the connection open. Failures are classified (host not found, refused,
 * authentication, timeout, …) and logged with host:port but never the URL
 * (which may hold a password): at once when the kind changes, then at most
 * every 30 s while Redis stays down.
 */
export class RedisHealth {
  readonly #listeners = new Set<(up: boolean) => void>();
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #up = false;
  #probing = false;
  #stopped = false;
  readonly #onClose = () => this.#set(false, this.#lastFailure);
  readonly #onReady = () => void this.probe();
  readonly #onError = (err: unknown) => this.#failure(err);
  readonly #events: ServiceEvents;
  #lastFailure: RedisFailure | undefined;
  #fatal: RedisFailure | undefined;
  #lastLoggedAt = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly options: { intervalMs?: number; commandTimeoutMs: number; logger?: Logger; events?: ServiceEvents },
  ) {
    this.#logger = options.logger ?? silentLogger;
    this.#events = options.events ?? noServiceEvents;
    client.on("error", this.#onError);
    client.on("close", this.#onClose);
    client.on("end", this.#onClose);
    client.on("ready", this.#onReady);
    this.#timer = setInterval(() => void this.probe(), options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  get up(): boolean {
    return this.#up;
  }

  /**
   * A failure that retrying cannot cure and that must not be served through: Redis refused the
   * database index (ioredis then goes on, silently, on db 0). Never up while it is set.
   */
  get fatal(): RedisFailure | undefined {
    return this.#fatal;
  }

  /** Calls `listener` on every change of `up`. */
  onChange(listener: (up: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** PINGs now; resolves with the resulting state. */
  async probe(): Promise<boolean> {
    if (this.#probing || this.#stopped) return this.#up;
    this.#probing = true;
    try {
      const started = performance.now();
      await withDeadline(() => this.client.ping(), this.options.commandTimeoutMs);
      this.#events.redisLatency((performance.now() - started) / 1000);
      if (this.#fatal !== undefined) throw new Error(this.#fatal.message);
      this.#set(true);
    } catch (err) {
      this.#set(false, this.#failure(err));
    } finally {
      this.#probing = false;
    }
    return this.#up;
  }

  /** Resolves true once Redis answers, or false after `timeoutMs`. */
  async waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (await this.probe()) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(this.#up);
      }, timeoutMs);
      const off = this.onChange((up) => {
        if (!up) return;
        clearTimeout(timer);
        off();
        resolve(true);
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.client.off("close", this.#onClose);
    this.client.off("end", this.#onClose);
    this.client.off("ready", this.#onReady);
    this.client.off("error", this.#onError);
    this.#listeners.clear();
  }

  /** The last failure that says more than "closed", for the log; logs it when its kind changed, else at a bounded rate. */
  #failure(err: unknown): RedisFailure {
    const failure = this.#fatal ?? classifyRedisFailure(err, this.#where());
    if (failure.kind === "bad_db_index" && this.#fatal === undefined) {
      this.#fatal = failure;
      this.#set(false, failure);
    }
    const known = this.#lastFailure;
    // A closed connection or a PING on one says nothing new once the cause is known.
    const shown = failure.kind === "connection_closed" && known !== undefined ? known : failure;
    const now = Date.now();
    if (!this.#stopped && (shown.kind !== known?.kind || now - this.#lastLoggedAt >= REPEAT_MS)) {
      this.#lastLoggedAt = now;
      this.#logger.error(shown.message, { reason: shown.kind });
    }
    this.#lastFailure = shown;
    return shown;
  }

  /** host:port of a standalone client (Sentinel and Cluster name theirs in their errors). */
  #where(): string | undefined {
    const options = (this.client as { options?: { host?: unknown; port?: unknown; sentinels?: unknown } }).options;
    if (options === undefined || options.sentinels || typeof options.host !== "string") return undefined;
    return `${options.host}:${String(options.port)}`;
  }

  #set(up: boolean, failure?: RedisFailure): void {
    if (this.#stopped || up === this.#up) return;
    this.#up = up;
    if (up) {
      this.#lastFailure = undefined;
      this.#logger.info("redis available");
    } else if (failure === undefined) {
      // A failure with a cause was logged by #failure already.
      this.#logger.warn("redis unavailable: the connection closed", { reason: "connection_closed" });
    }
    for (const listener of this.#listeners) listener(up);
  }
}
