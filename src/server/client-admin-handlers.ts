import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ClientSource,
  type AddClientSecretRequest,
  type AddClientSecretResponseSchema,
  type Client,
  type ClientSchema,
  type CreateClientRequest,
  type CreateClientResponseSchema,
  type DeleteClientRequest,
  type DeleteClientResponseSchema,
  type GetClientRequest,
  type GetClientResponseSchema,
  type ListClientsRequest,
  type ListClientsResponseSchema,
  type RemoveClientSecretRequest,
  type RemoveClientSecretResponseSchema,
  type SetClientJwksRequest,
  type SetClientJwksResponseSchema,
  type UpdateClientRequest,
  type UpdateClientResponseSchema,
} from "../../gen/tessera/admin/v1/client_admin_service_pb.js";
import { InvalidRequestError } from "../errors/tessera-error.js";
import type { Logger } from "../internal/logger.js";
import type { ClientAdmin, ClientView } from "../registry/client-admin.js";
import type { ClientSettingsInput } from "../registry/client-input.js";
import type { ManagedClient } from "../registry/managed-client.js";

type ClientInit = MessageInitShape<typeof ClientSchema>;

/** A client as the API shows it: never a secret or a hash. */
export function clientMessage(view: ClientView): ClientInit {
  const { client } = view;
  const common = {
    clientId: client.id,
    authMethod: client.authMethod,
    grantTypes: [...client.grantTypes],
    grants: client.grants.map((g) => ({ audience: g.audience, scopes: [...g.scopes] })),
    audiences: [...client.audiences],
    introspection: client.introspection,
    tokenLifetimeSeconds: client.tokenLifetimeSeconds ?? 0,
    jwksJson: client.jwks === undefined ? "" : JSON.stringify(client.jwks),
  };
  if (view.source === "file") return { ...common, enabled: true, source: ClientSource.FILE };
  const managed: ManagedClient = view.client;
  return {
    ...common,
    enabled: managed.enabled,
    secrets: managed.secrets.map((s) => ({ secretId: s.id, createTime: timestampFromMs(s.createdAt) })),
    jwksUri: managed.jwksUri ?? "",
    version: BigInt(managed.version),
    source: ClientSource.API,
    createTime: timestampFromMs(managed.createdAt),
    updateTime: timestampFromMs(managed.updatedAt),
  };
}

function settingsOf(client: Client): ClientSettingsInput {
  return {
    authMethod: client.authMethod,
    grantTypes: client.grantTypes,
    grants: client.grants.map((g) => ({ audience: g.audience, scopes: g.scopes })),
    audiences: client.audiences,
    introspection: client.introspection,
    tokenLifetimeSeconds: client.tokenLifetimeSeconds,
    enabled: client.enabled,
    jwksJson: client.jwksJson,
    jwksUri: client.jwksUri,
  };
}

/** The update mask's paths and the settings they name. */
const UPDATABLE: Record<string, keyof ClientSettingsInput> = {
  grants: "grants",
  audiences: "audiences",
  token_lifetime_seconds: "tokenLifetimeSeconds",
  introspection: "introspection",
  grant_types: "grantTypes",
  auth_method: "authMethod",
  enabled: "enabled",
};

function maskedChange(client: Client, paths: readonly string[]): Partial<ClientSettingsInput> {
  if (paths.length === 0) throw new InvalidRequestError(`update_mask: name the fields to change (${Object.keys(UPDATABLE).join(", ")})`);
  const all = settingsOf(client);
  const change: Partial<Record<keyof ClientSettingsInput, unknown>> = {};
  for (const path of paths) {
    const key = UPDATABLE[path];
    if (key === undefined) throw new InvalidRequestError(`update_mask: "${path}" cannot be updated here; one of ${Object.keys(UPDATABLE).join(", ")}`);
    change[key] = all[key];
  }
  return change as Partial<ClientSettingsInput>;
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new InvalidRequestError(`${field}: is required`);
  return value;
}

/** Who made a change, for the log: the administrator's client id. */
export type Actor = string | undefined;

/**
 * tessera.admin.v1.ClientAdminService over ClientAdmin: protobuf messages in
 * and out, no transport code. Scopes are checked before a handler runs (the
 * interceptors, by the rules in the proto); every change is logged with the
 * administrator's client id, never with a secret.
 */
export function clientAdminHandlers(admin: ClientAdmin, logger: Logger) {
  const changed = (what: string, clientId: string, by: Actor) => logger.info(`client ${what}`, { clientId, by });
  return {
    async createClient(req: CreateClientRequest, by: Actor): Promise<MessageInitShape<typeof CreateClientResponseSchema>> {
      const client = required(req.client, "client");
      const created = await admin.create(client.clientId, settingsOf(client));
      changed("created", created.client.id, by);
      return {
        client: clientMessage({ source: "api", client: created.client }),
        clientSecret: created.secret?.secret ?? "",
        secretId: created.secret?.secretId ?? "",
      };
    },

    async getClient(req: GetClientRequest): Promise<MessageInitShape<typeof GetClientResponseSchema>> {
      return { client: clientMessage(admin.get(req.clientId)) };
    },

    async listClients(req: ListClientsRequest): Promise<MessageInitShape<typeof ListClientsResponseSchema>> {
      const page = admin.list(req.pageSize, req.pageToken);
      return { clients: page.clients.map(clientMessage), nextPageToken: page.nextPageToken };
    },

    async updateClient(req: UpdateClientRequest, by: Actor): Promise<MessageInitShape<typeof UpdateClientResponseSchema>> {
      const client = required(req.client, "client");
      const updated = await admin.update(client.clientId, maskedChange(client, req.updateMask?.paths ?? []));
      changed("updated", updated.id, by);
      return { client: clientMessage({ source: "api", client: updated }) };
    },

    async deleteClient(req: DeleteClientRequest, by: Actor): Promise<MessageInitShape<typeof DeleteClientResponseSchema>> {
      await admin.delete(req.clientId);
      changed("deleted", req.clientId, by);
      return {};
    },

    async addClientSecret(req: AddClientSecretRequest, by: Actor): Promise<MessageInitShape<typeof AddClientSecretResponseSchema>> {
      const added = await admin.addSecret(req.clientId);
      changed("secret added", req.clientId, by);
      return { client: clientMessage({ source: "api", client: added.client }), clientSecret: added.secret, secretId: added.secretId };
    },

    async removeClientSecret(req: RemoveClientSecretRequest, by: Actor): Promise<MessageInitShape<typeof RemoveClientSecretResponseSchema>> {
      const client = await admin.removeSecret(req.clientId, req.secretId);
      changed("secret removed", req.clientId, by);
      return { client: clientMessage({ source: "api", client }) };
    },

    async setClientJwks(req: SetClientJwksRequest, by: Actor): Promise<MessageInitShape<typeof SetClientJwksResponseSchema>> {
      const client = await admin.setJwks(req.clientId, req.jwksJson, req.jwksUri);
      changed("keys set", req.clientId, by);
      return { client: clientMessage({ source: "api", client }) };
    },
  };
}

export type ClientAdminHandlers = ReturnType<typeof clientAdminHandlers>;
