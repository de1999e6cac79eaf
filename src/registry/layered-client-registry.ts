import type { JWTVerifyGetKey } from "jose";
import type { ClientConfig } from "../config/types.js";
import { TemporarilyUnavailableError } from "../errors/tessera-error.js";
import type { ClientRegistry } from "./client-registry.js";
import type { ManagedClientStore } from "./client-store.js";
import { managedClientConfig, type ManagedClient } from "./managed-client.js";
import { registeredClient, type RegisteredClient } from "./registered-client.js";

/**
 * The clients the issuer knows: those of the configuration file (a read-only
 * bootstrap, replaced as a whole when the file is reloaded) and those created
 * through the admin API (the store's copy in this replica's memory). A file
 * client wins over an API client of the same id; a disabled client is not
 * found. Every lookup is a map read: no I/O on the token path.
 */
export class LayeredClientRegistry implements ClientRegistry {
  #fileConfigs: ReadonlyMap<string, ClientConfig>;
  #fileClients: ReadonlyMap<string, RegisteredClient>;
  readonly #store: ManagedClientStore | undefined;
  readonly #remoteKeys: (jwksUri: string) => JWTVerifyGetKey;
  /** The registered form of each stored client, made once per version (the store hands a new object per write). */
  readonly #built = new WeakMap<ManagedClient, RegisteredClient>();

  /** `remoteKeys` serves a private_key_jwt client's jwksUri (the registry itself does no I/O). */
  constructor(fileClients: readonly ClientConfig[], store: ManagedClientStore | undefined, remoteKeys: (jwksUri: string) => JWTVerifyGetKey) {
    this.#store = store;
    this.#remoteKeys = remoteKeys;
    this.#fileConfigs = new Map();
    this.#fileClients = new Map();
    this.replaceFileClients(fileClients);
  }

  /** Replaces the clients of the file (after a reload). */
  replaceFileClients(clients: readonly ClientConfig[]): void {
    this.#fileConfigs = new Map(clients.map((c) => [c.id, c]));
    this.#fileClients = new Map(clients.map((c) => [c.id, registeredClient(c)]));
  }

  /** The file's clients, as configured. */
  fileClients(): ClientConfig[] {
    return [...this.#fileConfigs.values()];
  }

  fileClient(clientId: string): ClientConfig | undefined {
    return this.#fileConfigs.get(clientId);
  }

  get(clientId: string): RegisteredClient | undefined {
    const fromFile = this.#fileClients.get(clientId);
    if (fromFile !== undefined) return fromFile;
    if (this.#store === undefined) return undefined;
    // Not loaded yet (Redis unreachable since start): "unknown client" would be a wrong answer, unavailable is the true one.
    if (!this.#store.ready) throw new TemporarilyUnavailableError("the client registry is not loaded yet, retry later", 1);
    const managed = this.#store.get(clientId);
    if (managed === undefined || !managed.enabled) return undefined;
    let built = this.#built.get(managed);
    if (built === undefined) {
      const assertionKeys = managed.jwksUri === undefined ? undefined : this.#remoteKeys(managed.jwksUri);
      built = registeredClient(managedClientConfig(managed), assertionKeys);
      this.#built.set(managed, built);
    }
    return built;
  }
}
