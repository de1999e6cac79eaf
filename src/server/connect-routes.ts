import { createContextKey, createContextValues, type ConnectRouter, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { toConnectError } from "../errors/to-connect.js";
import type { HealthState } from "./health.js";
import { healthHandlers } from "./health.js";
import type { CallInfo, TokenServiceHandlers } from "./token-service-handlers.js";

/** The IP address of the Connect caller: HandlerContext has no peer, so the adapter puts it in the context values. */
export const PEER_ADDRESS = createContextKey<string | undefined>(undefined, { description: "tessera peer address" });

/** connectNodeAdapter's contextValues: the Node request's remote address. */
export function connectContextValues(req: Parameters<NonNullable<ConnectNodeAdapterOptions["contextValues"]>>[0]): ContextValues {
  return createContextValues().set(PEER_ADDRESS, req.socket?.remoteAddress);
}

function callInfo(ctx: HandlerContext): CallInfo {
  return { authorization: ctx.requestHeader.get("authorization") ?? undefined, source: ctx.values.get(PEER_ADDRESS) };
}

async function mapped<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** Registers TokenService and Health on a Connect router (Connect, gRPC-Web and gRPC protocols). */
export function connectRoutes(handlers: TokenServiceHandlers, health: HealthState): (router: ConnectRouter) => void {
  const healthImpl = healthHandlers(health);
  return (router) => {
    router.service(TokenService, {
      issueToken: (req, ctx) => mapped(() => handlers.issueToken(req, callInfo(ctx))),
      introspect: (req, ctx) => mapped(() => handlers.introspect(req, callInfo(ctx))),
      getJwks: () => mapped(() => handlers.getJwks()),
      revoke: (req, ctx) => mapped(() => handlers.revoke(req, callInfo(ctx))),
    });
    router.service(Health, {
      check: (req) => mapped(() => healthImpl.check(req)),
      list: () => mapped(() => healthImpl.list()),
      watch: (req, ctx) => healthImpl.watch(req, ctx),
    });
  };
}
