import type { ClientConfig } from "../config/types.js";
import { GRANT_CLIENT_CREDENTIALS } from "../config/types.js";
import { InvalidRequestError, NotFoundError, TemporarilyUnavailableError } from "../errors/tessera-error.js";
import type { Clock } from "../internal/clock.js";
import { randomToken } from "../internal/random.js";
import { generateClientSecret, hashClientSecret } from "./client-secret.js";
import type { ManagedClientStore } from "./client-store.js";
import { checkClientId, checkJwksUri, checkSettings, parsePublicJwks, settingsInput, type ClientSettingsInput } from "./client-input.js";
import type { LayeredClientRegistry } from "./layered-client-registry.js";
import { MAX_ACTIVE_SECRETS, type ManagedClient, type ManagedClientDraft, type StoredSecret } from "./managed-client.js";

/** A client as the admin API shows it: from the API (stored) or from the configuration file (read-only). */
export type ClientView = { readonly source: "api"; readonly client: ManagedClient } | { readonly source: "file"; readonly client: ClientConfig };

/** A newly generated secret: shown once, stored as its hash. */
export interface NewSecret {
  readonly client: ManagedClient;
  readonly secret: string;
  readonly secretId: string;
}

/** Options of ClientAdmin. */
export interface ClientAdminOptions {
  store: ManagedClientStore;
  /** The issuer's registry: file clients are looked up there (they change on reload). */
  registry: LayeredClientRegistry;
  /** tokens.maxLifetimeSeconds: the longest lifetime a client may be given. */
  maxTokenLifetimeSeconds: number;
  /** Why a scope may not be granted for an audience (undeclared in the services' protos), or undefined. Asked on every write. */
  scopeProblem?: ((audience: string, scope: string) => string | undefined) | undefined;
  clock: Clock;
  /**
   * Cuts a client off: tokens it was issued before `beforeMs` (epoch ms) must
   * stop being accepted by every verifier. Called after a client is disabled
   * or deleted; its failure fails the call (which may be retried).
   */
  cutOff?: ((clientId: string, beforeMs: number) => Promise<void>) | undefined;
  /**
   * How far past the write a cut-off reaches, in ms: other replicas may still
   * issue tokens until they learn of the change. Default 2000.
   */
  cutOffMarginMs?: number;
}

/** Read-modify-write attempts on one client before giving up (only under heavy contention on that client). */
const MAX_ATTEMPTS = 20;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

function secretEntry(secret: string, now: number): StoredSecret {
  return { id: randomToken(9), hash: hashClientSecret(secret), createdAt: now };
}

/**
 * The admin API's operations over the client registry, free of any
 * transport: input is checked before anything is written (a bad request
 * changes nothing), every change is one compare-and-set on the client's
 * version (retried on a concurrent change, so no write is lost), and clients
 * from the configuration file are shown but never changed.
 */
export class ClientAdmin {
  readonly #options: ClientAdminOptions;

  constructor(options: ClientAdminOptions) {
    this.#options = options;
  }

  get(clientId: string): ClientView {
    const fromFile = this.#options.registry.fileClient(clientId);
    if (fromFile !== undefined) return { source: "file", client: fromFile };
    const stored = this.#options.store.get(clientId);
    if (stored === undefined) throw new NotFoundError(`client_id: no client "${clientId}"`);
    return { source: "api", client: stored };
  }

  /** A page of every client (file and API), in client id order; the page token is the last id of the previous page. */
  list(pageSize: number, pageToken: string): { clients: ClientView[]; nextPageToken: string } {
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE_SIZE) throw new InvalidRequestError(`page_size: must be from 0 to ${MAX_PAGE_SIZE}`);
    const size = pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
    let after = "";
    if (pageToken !== "") {
      after = Buffer.from(pageToken, "base64url").toString("utf8");
      if (after === "" || Buffer.from(after, "utf8").toString("base64url") !== pageToken)
        throw new InvalidRequestError("page_token: is not a token this API gave");
    }
    const files = this.#options.registry.fileClients();
    const fileIds = new Set(files.map((c) => c.id));
    const all: ClientView[] = [
      ...files.map((client): ClientView => ({ source: "file", client })),
      ...this.#options.store
        .list()
        .filter((c) => !fileIds.has(c.id))
        .map((client): ClientView => ({ source: "api", client })),
    ]
      .filter((v) => v.client.id > after)
      .sort((a, b) => (a.client.id < b.client.id ? -1 : 1));
    const page = all.slice(0, size);
    const last = page.at(-1);
    return { clients: page, nextPageToken: all.length > size && last !== undefined ? Buffer.from(last.client.id, "utf8").toString("base64url") : "" };
  }

  /** Creates a client (enabled); a secret client gets a generated secret. */
  async create(clientId: string, input: ClientSettingsInput): Promise<{ client: ManagedClient; secret?: NewSecret }> {
    const id = checkClientId(clientId);
    const grantTypes = input.grantTypes.length === 0 ? [GRANT_CLIENT_CREDENTIALS] : input.grantTypes;
    const settings = checkSettings({ ...input, grantTypes, enabled: true }, this.#limits(), true);
    if (this.#options.registry.fileClient(id) !== undefined)
      throw new InvalidRequestError(`client.client_id: duplicate client id "${id}" (configured in the file)`);
    const now = this.#options.clock.now();
    const secret = settings.authMethod === "private_key_jwt" ? undefined : generateClientSecret();
    const secrets = secret === undefined ? [] : [secretEntry(secret, now)];
    const written = await this.#options.store.write({ id, ...settings, secrets, createdAt: now, updatedAt: now }, 0);
    if (written === undefined) throw new InvalidRequestError(`client.client_id: duplicate client id "${id}"`);
    return secret === undefined ? { client: written } : { client: written, secret: { client: written, secret, secretId: secrets[0]!.id } };
  }

  /** Replaces the given settings; the rest stays. Disabling cuts the client's tokens off. */
  async update(clientId: string, change: Partial<ClientSettingsInput>): Promise<ManagedClient> {
    const updated = await this.#mutate(clientId, (current) => ({
      ...current,
      ...checkSettings({ ...settingsInput(current), ...change }, this.#limits(), current.secrets.length > 0),
    }));
    if (change.enabled === false) await this.#cutOff(clientId);
    return updated;
  }

  /** Deletes the client and cuts its tokens off. */
  async delete(clientId: string): Promise<void> {
    this.#refuseFileClient(clientId, "client_id");
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#options.store.read(clientId);
      if (current === undefined) throw new NotFoundError(`client_id: no client "${clientId}"`);
      if (await this.#options.store.remove(clientId, current.version)) {
        await this.#cutOff(clientId);
        return;
      }
    }
    throw this.#contended();
  }

  /** Adds a generated secret: at most two are active. */
  async addSecret(clientId: string): Promise<NewSecret> {
    const secret = generateClientSecret();
    let entry: StoredSecret | undefined;
    const client = await this.#mutate(clientId, (current) => {
      if (current.secrets.length >= MAX_ACTIVE_SECRETS)
        throw new InvalidRequestError(`client_id: "${clientId}" has ${MAX_ACTIVE_SECRETS} active secrets already; remove one first`);
      entry = secretEntry(secret, this.#options.clock.now());
      return { ...current, secrets: [...current.secrets, entry] };
    });
    return { client, secret, secretId: entry!.id };
  }

  /** Removes one secret; a secret client keeps at least one. */
  async removeSecret(clientId: string, secretId: string): Promise<ManagedClient> {
    return this.#mutate(clientId, (current) => {
      if (!current.secrets.some((s) => s.id === secretId)) throw new NotFoundError(`secret_id: client "${clientId}" has no secret "${secretId}"`);
      const secrets = current.secrets.filter((s) => s.id !== secretId);
      if (secrets.length === 0 && current.authMethod !== "private_key_jwt")
        throw new InvalidRequestError(`secret_id: it is the only secret of ${current.authMethod} client "${clientId}"; add another first`);
      return { ...current, secrets };
    });
  }

  /** Sets the keys that verify the client's assertions: inline (JSON) or a URL, exactly one. */
  async setJwks(clientId: string, jwksJson: string, jwksUri: string): Promise<ManagedClient> {
    if ((jwksJson === "") === (jwksUri === "")) throw new InvalidRequestError("jwks_json: give exactly one of jwks_json and jwks_uri");
    const jwks = jwksJson === "" ? undefined : parsePublicJwks(jwksJson, "jwks_json");
    const uri = jwksUri === "" ? undefined : checkJwksUri(jwksUri, "jwks_uri");
    return this.#mutate(clientId, (current) => ({ ...current, jwks, jwksUri: uri }));
  }

  #limits() {
    return { maxTokenLifetimeSeconds: this.#options.maxTokenLifetimeSeconds, scopeProblem: this.#options.scopeProblem };
  }

  #refuseFileClient(clientId: string, field: string): void {
    if (this.#options.registry.fileClient(clientId) !== undefined)
      throw new InvalidRequestError(`${field}: client "${clientId}" comes from the configuration file and is read-only here; change it in the file`);
  }

  /** One compare-and-set on the client's version, read again and retried when another write came first. */
  async #mutate(clientId: string, change: (current: ManagedClient) => ManagedClientDraft): Promise<ManagedClient> {
    this.#refuseFileClient(clientId, "client_id");
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#options.store.read(clientId);
      if (current === undefined) throw new NotFoundError(`client_id: no client "${clientId}"`);
      const { version: _, ...next } = { ...change(current), updatedAt: this.#options.clock.now() } as ManagedClient;
      const written = await this.#options.store.write(next, current.version);
      if (written !== undefined) return written;
    }
    throw this.#contended();
  }

  #contended(): TemporarilyUnavailableError {
    return new TemporarilyUnavailableError("the client is being changed concurrently; retry", 1);
  }

  async #cutOff(clientId: string): Promise<void> {
    await this.#options.cutOff?.(clientId, this.#options.clock.now() + (this.#options.cutOffMarginMs ?? 2000));
  }
}
