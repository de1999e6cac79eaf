import type { KeyRingState } from "./key-record.js";

/**
 * Where the key records live, shared by every replica that signs. Updates are
 * compare-and-set on the version, so that of several replicas taking the same
 * rotation step, exactly one succeeds and the others re-read.
 */
export interface KeyRing {
  read(): Promise<KeyRingState>;
  /** Stores `next` if the stored version is still `next.version - 1`; resolves false when another writer came first. */
  write(next: KeyRingState): Promise<boolean>;
  /** Calls `listener` when another writer changed the ring. Resolves to an unsubscribe function. */
  watch(listener: () => void): Promise<() => void>;
}

/** A key ring in this process (dev mode, tests). */
export class MemoryKeyRing implements KeyRing {
  #state: KeyRingState = { version: 0, records: [] };
  readonly #listeners = new Set<() => void>();

  async read(): Promise<KeyRingState> {
    return this.#state;
  }

  async write(next: KeyRingState): Promise<boolean> {
    if (next.version !== this.#state.version + 1) return false;
    this.#state = next;
    for (const listener of this.#listeners) listener();
    return true;
  }

  async watch(listener: () => void): Promise<() => void> {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
