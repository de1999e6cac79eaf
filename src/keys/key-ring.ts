import type { KeyRingState } from "./key-record.js";

/**
 * Where the key records live, shared by every replica that signs. Updates are
 * compare-and-set on the epoch and version, so that of several replicas taking
 * the same rotation step, exactly one succeeds and the others re-read.
 */
export interface KeyRing {
  /** The stored ring; `{ version: 0, records: [] }` without an epoch when none is stored. */
  read(): Promise<KeyRingState>;
  /**
   * Stores `next` (its epoch and version as given) if the stored ring still has the epoch and version of
   * `expected` (no epoch and version 0: no ring stored); resolves false when another writer came first.
   */
  write(next: KeyRingState, expected: Pick<KeyRingState, "epoch" | "version">): Promise<boolean>;
  /** Calls `listener` when another writer changed the ring. Resolves to an unsubscribe function. */
  watch(listener: () => void): Promise<() => void>;
  /**
   * Wakes the watchers up (they re-read the ring), without changing it: a replica that finds no ring
   * at start asks the running ones to re-seed a lost one before it makes a fresh one. Resolves to the
   * number of watchers reached (0: nobody to wait for).
   */
  nudge?(): Promise<number>;
}
