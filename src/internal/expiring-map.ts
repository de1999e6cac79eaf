import type { Clock } from "./clock.js";

/**
 * A map whose entries expire at an epoch-second deadline. Expired entries are
 * ignored on read and swept in bulk once the map has grown, so memory stays
 * bounded by the number of live entries.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  #sweepAt = 1024;

  constructor(private readonly clock: Clock) {}

  #nowSeconds(): number {
    return this.clock.now() / 1000;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#nowSeconds()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.#entries.set(key, { value, expiresAt });
    if (this.#entries.size >= this.#sweepAt) this.#sweep();
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** The live values. */
  *values(): IterableIterator<V> {
    const now = this.#nowSeconds();
    for (const entry of this.#entries.values()) if (entry.expiresAt > now) yield entry.value;
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(): void {
    const now = this.#nowSeconds();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    this.#sweepAt = Math.max(1024, this.#entries.size * 2);
  }
}
