import type { ClientConfig } from "../config/types.js";
import { registeredClient, type RegisteredClient } from "./registered-client.js";

/** Looks registered clients up by id. */
export interface ClientRegistry {
  get(clientId: string): RegisteredClient | undefined;
}

/** The clients of the configuration, held in memory. */
export class StaticClientRegistry implements ClientRegistry {
  readonly #clients: Map<string, RegisteredClient>;

  constructor(clients: readonly ClientConfig[]) {
    this.#clients = new Map(clients.map((c) => [c.id, registeredClient(c)]));
  }

  get(clientId: string): RegisteredClient | undefined {
    return this.#clients.get(clientId);
  }
}
