import type { ManagedClientStore } from "../../registry/client-store.js";
import type { ManagedClient, ManagedClientDraft } from "../../registry/managed-client.js";

/** Clients created at run time, in this process's memory (one replica, no Redis). */
export class MemoryClientStore implements ManagedClientStore {
  readonly #clients = new Map<string, ManagedClient>();
  readonly #listeners = new Set<(clientId: string) => void>();
  #version = 0;
  readonly ready = true;

  get(clientId: string): ManagedClient | undefined {
    return this.#clients.get(clientId);
  }

  list(): ManagedClient[] {
    return [...this.#clients.values()];
  }

  async read(clientId: string): Promise<ManagedClient | undefined> {
    return this.#clients.get(clientId);
  }

  async write(client: ManagedClientDraft, expectedVersion: number): Promise<ManagedClient | undefined> {
    if ((this.#clients.get(client.id)?.version ?? 0) !== expectedVersion) return undefined;
    const written: ManagedClient = Object.freeze({ ...client, version: ++this.#version });
    this.#clients.set(client.id, written);
    this.#changed(client.id);
    return written;
  }

  async remove(clientId: string, expectedVersion: number): Promise<boolean> {
    if (this.#clients.get(clientId)?.version !== expectedVersion) return false;
    this.#clients.delete(clientId);
    this.#changed(clientId);
    return true;
  }

  onChange(listener: (clientId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(clientId: string): void {
    for (const listener of this.#listeners) listener(clientId);
  }
}
