import type { ConnectRouter } from "@connectrpc/connect";
import type { Server } from "@grpc/grpc-js";
import type { TesseraConfig } from "../config/types.js";
import type { Clock } from "../internal/clock.js";
import type { Logger } from "../internal/logger.js";
import { CLOCK_SKEW_SECONDS, type IssuerContext } from "../issuer/issuer-context.js";
import { revokeClientTokens } from "../issuer/revoke-client-tokens.js";
import type { KeyStore } from "../keys/key-store.js";
import { ClientAdmin } from "../registry/client-admin.js";
import type { RevocationFeed } from "../store/types.js";
import { TokenVerifier } from "../verifier/token-verifier.js";
import { clientAdminHandlers } from "./client-admin-handlers.js";
import { connectClientAdminRoutes, type GrpcClientAdminGate } from "./client-admin-routes.js";
import type { ClientRegistryState } from "./client-registry-state.js";

/** What createTesseraServer needs to serve the admin API. */
export interface ClientAdminSetup {
  config: TesseraConfig;
  issuer: string;
  keys: KeyStore;
  clients: ClientRegistryState;
  /** The revocations the server records: an administrator's revoked token is refused like any other. */
  revocations: RevocationFeed | undefined;
  /** Why a scope may not be granted for an audience (the loaded descriptor sets do not declare it), or undefined. */
  scopeProblem: (audience: string, scope: string) => string | undefined;
  /** The issuer, whose deny-list records a disabled or deleted client's cut-off (revokeClientTokens). */
  context: IssuerContext;
  clock: Clock;
  logger: Logger;
}

/** The admin API, ready to be served on both listeners. */
export interface ClientAdminServer {
  readonly admin: ClientAdmin;
  connectRoutes(router: ConnectRouter): void;
  serveGrpc(server: Server, gate: GrpcClientAdminGate): void;
  stop(): void;
}

/**
 * tessera.admin.v1.ClientAdminService, protected the way Tessera tells its
 * users to protect theirs: a TokenVerifier over the issuer's own keys and
 * revocations, the Connect and grpc-js interceptors, and the rules in the
 * service's proto.
 */
export async function startClientAdmin(setup: ClientAdminSetup): Promise<ClientAdminServer> {
  const { keys } = setup;
  const key = (header: { kid?: string | undefined; alg?: string | undefined }) => {
    const found = header.kid === undefined ? undefined : keys.verificationKey(header.kid);
    return found !== undefined && found.alg === header.alg ? found.key : undefined;
  };
  const verifier = new TokenVerifier({
    issuer: setup.issuer,
    keys: { resolve: async (header) => key(header), resolveNow: key },
    maxLifetimeSeconds: setup.config.tokens.maxLifetimeSeconds + CLOCK_SKEW_SECONDS,
    ...(setup.revocations !== undefined ? { revocations: setup.revocations } : {}),
    clock: setup.clock,
  });
  await verifier.start();
  const admin = new ClientAdmin({
    store: setup.clients.store,
    registry: setup.clients.registry,
    maxTokenLifetimeSeconds: setup.config.tokens.maxLifetimeSeconds,
    scopeProblem: setup.scopeProblem,
    clock: setup.clock,
    // Other replicas may issue tokens until they learn of the change (measured in milliseconds): the cut-off reaches past it.
    cutOffMarginMs: setup.clients.shared ? 1000 : 0,
    // A client-wide revocation that every verifier receives: tokens of the client issued before then (iat in whole seconds).
    cutOff: async (clientId, beforeMs) => {
      await revokeClientTokens(setup.context, clientId, Math.floor(beforeMs / 1000) + 1);
    },
  });
  const handlers = clientAdminHandlers(admin, setup.logger);
  return {
    admin,
    connectRoutes: connectClientAdminRoutes(handlers, verifier),
    serveGrpc: (server, gate) => gate.serve(server, handlers, verifier),
    stop: () => verifier.stop(),
  };
}
