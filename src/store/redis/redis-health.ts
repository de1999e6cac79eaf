import { silentLogger, type Logger } from "../../internal/logger.js";
import type { RedisClient } from "./redis-client.js";
import { withDeadline } from "./redis-call.js";

/**
 * Whether Redis answers, kept up to date for readiness (/readyz, gRPC
 * health): down at once when the connection closes, up again once a PING
 * succeeds; a PING every `intervalMs` also catches a server that hangs with
 * the connection open. Transitions are logged (without the URL, which may
 * hold a password).
 */
export class RedisHealth {
  readonly #listeners = new Set<(up: boolean) => void>();
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #up = false;
  #probing = false;
  #stopped = false;
  readonly #onClose = () => this.#set(false, "connection closed");
  readonly #onReady = () => void this.probe();

  constructor(
    private readonly client: RedisClient,
    private readonly options: { intervalMs?: number; commandTimeoutMs: number; logger?: Logger },
  ) {
    this.#logger = options.logger ?? silentLogger;
    client.on("close", this.#onClose);
    client.on("end", this.#onClose);
    client.on("ready", this.#onReady);
    this.#timer = setInterval(() => void this.probe(), options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  get up(): boolean {
    return this.#up;
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
      await withDeadline(() => this.client.ping(), this.options.commandTimeoutMs);
      this.#set(true);
    } catch (err) {
      this.#set(false, err instanceof Error ? err.message : "unavailable");
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
    this.#listeners.clear();
  }

  #set(up: boolean, reason?: string): void {
    if (this.#stopped || up === this.#up) return;
    this.#up = up;
    if (up) this.#logger.info("redis available");
    else this.#logger.warn("redis unavailable", { reason: reason ?? "unknown" });
    for (const listener of this.#listeners) listener(up);
  }
}
