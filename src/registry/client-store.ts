import type { ManagedClient, ManagedClientDraft } from "./managed-client.js";

/**
 * Where clients created at run time live: Redis shared by every replica, or
 * this process's memory. Reads for issuing tokens come from this replica's
 * copy in memory (get, list); writes go to the store and are compared and set
 * on the client's version, so that two replicas changing one client never
 * lose a write.
 */
export interface ManagedClientStore {
  /** Whether this replica's copy is loaded (a store in memory always is); until then a lookup cannot tell "unknown". */
  readonly ready: boolean;
  /** This replica's copy of one client. */
  get(clientId: string): ManagedClient | undefined;
  /** This replica's copy of every client, in no particular order. */
  list(): ManagedClient[];
  /** The stored client, read from the store itself (what a read-modify-write starts from). */
  read(clientId: string): Promise<ManagedClient | undefined>;
  /**
   * Writes the client if its stored version is still `expectedVersion` (0: it
   * must not exist yet). Resolves the written client with its new version,
   * or undefined when the version had moved on (read again and retry).
   */
  write(client: ManagedClientDraft, expectedVersion: number): Promise<ManagedClient | undefined>;
  /** Removes the client if its stored version is still `expectedVersion`; false when it had moved on or is gone. */
  remove(clientId: string, expectedVersion: number): Promise<boolean>;
  /** Calls `listener` with the id of every client this replica's copy changed for (written here or elsewhere). */
  onChange(listener: (clientId: string) => void): () => void;
}
