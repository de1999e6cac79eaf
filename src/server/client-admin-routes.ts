import type { ConnectRouter } from "@connectrpc/connect";
import type { Metadata, Server, ServerInterceptingCall, ServerInterceptor } from "@grpc/grpc-js";
import { ClientAdminService } from "../../gen/tessera/admin/v1/client_admin_service_pb.js";
import { authInterceptor, principal } from "../interceptors/connect/server.js";
import { bridgeService } from "../interceptors/grpc/bridge-service.js";
import { authServerInterceptor, grpcPrincipal } from "../interceptors/grpc/server.js";
import type { TokenVerifier } from "../verifier/token-verifier.js";
import type { ClientAdminHandlers } from "./client-admin-handlers.js";
import { mapped } from "./connect-routes.js";

/** ClientAdminService on a Connect router, behind Tessera's own interceptor (the scopes its proto declares). */
export function connectClientAdminRoutes(handlers: ClientAdminHandlers, verifier: TokenVerifier): (router: ConnectRouter) => void {
  return (router) => {
    router.service(
      ClientAdminService,
      {
        createClient: (req, ctx) => mapped(() => handlers.createClient(req, principal(ctx).clientId)),
        getClient: (req) => mapped(() => handlers.getClient(req)),
        listClients: (req) => mapped(() => handlers.listClients(req)),
        updateClient: (req, ctx) => mapped(() => handlers.updateClient(req, principal(ctx).clientId)),
        deleteClient: (req, ctx) => mapped(() => handlers.deleteClient(req, principal(ctx).clientId)),
        addClientSecret: (req, ctx) => mapped(() => handlers.addClientSecret(req, principal(ctx).clientId)),
        removeClientSecret: (req, ctx) => mapped(() => handlers.removeClientSecret(req, principal(ctx).clientId)),
        setClientJwks: (req, ctx) => mapped(() => handlers.setClientJwks(req, principal(ctx).clientId)),
      },
      { interceptors: [authInterceptor(verifier)] },
    );
  };
}

const ADMIN_PATH = `/${ClientAdminService.typeName}/`;

/**
 * The grpc-js side: a server interceptor (given to the server when it is
 * made, before the verifier exists) that sends ClientAdminService's calls
 * through authServerInterceptor and leaves every other call as it is; and
 * the service itself, added once the verifier is there.
 */
export class GrpcClientAdminGate {
  #guard: ServerInterceptor | undefined;

  readonly interceptor: ServerInterceptor = (method, call) => {
    // grpc-js takes the call itself back: no wrapper on the token path. Before serve(), the service is not
    // registered, so an admin call gets UNIMPLEMENTED.
    if (!method.path.startsWith(ADMIN_PATH) || this.#guard === undefined) return call as ServerInterceptingCall;
    return this.#guard(method, call);
  };

  /** Adds the service to `server` and starts enforcing its rules with `verifier`. */
  serve(server: Server, handlers: ClientAdminHandlers, verifier: TokenVerifier): void {
    this.#guard = authServerInterceptor({ verifier, services: [ClientAdminService] });
    const by = (call: { metadata: Metadata }) => grpcPrincipal(call)?.clientId;
    const service = bridgeService(ClientAdminService, {
      createClient: (req, call) => handlers.createClient(req, by(call)),
      getClient: (req) => handlers.getClient(req),
      listClients: (req) => handlers.listClients(req),
      updateClient: (req, call) => handlers.updateClient(req, by(call)),
      deleteClient: (req, call) => handlers.deleteClient(req, by(call)),
      addClientSecret: (req, call) => handlers.addClientSecret(req, by(call)),
      removeClientSecret: (req, call) => handlers.removeClientSecret(req, by(call)),
      setClientJwks: (req, call) => handlers.setClientJwks(req, by(call)),
    });
    server.addService(service.definition, service.implementation);
  }
}
