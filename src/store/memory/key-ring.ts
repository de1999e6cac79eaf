import type { KeyRingState } from "../../keys/key-record.js";
import type { KeyRing } from "../../keys/key-ring.js";

/** A key ring in this process (dev mode, tests). */
export class MemoryKeyRing implements KeyRing {
  #state: KeyRingState = { version: 0, records: [] };
  readonly #listeners = new Set<() => void>();

  async read(): Promise<KeyRingState> {
    return this.#state;
  }

  async write(next: KeyRingState, expected: Pick<KeyRingState, "epoch" | "version">): Promise<boolean> {
    if ((this.#state.epoch ?? "") !== (expected.epoch ?? "") || this.#state.version !== expected.version) return false;
    this.#state = next;
    for (const listener of this.#listeners) listener();
    return true;
  }

  async watch(listener: () => void): Promise<() => void> {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
