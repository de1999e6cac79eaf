import { createContextKey, createContextValues, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { constants as http2, type Http2ServerRequest } from "node:http2";
import type { IncomingMessage } from "node:http";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { toConnectError } from "../errors/to-connect.js";
import type { ClientAddressResolver } from "../internal/source-address.js";
import type { HealthState } from "./health.js";
import { healthHandlers } from "./health.js";
import { clientAddress, headerValues } from "./http-io.js";
import type { CallInfo, TokenServiceHandlers } from "./token-service-handlers.js";
import type { WatchHandlers } from "./watch-handlers.js";

/**
 * What the Connect handlers learn from the Node request, which HandlerContext
 * does not show: the client's address, every `authorization` value (the
 * request headers keep only the first of several), and whether the query
 * carried an access_token.
 */
export const CALL_INFO = createContextKey<CallInfo | undefined>(undefined, { description: "tessera call info" });

/** connectNodeAdapter's contextValues: the call info of the Node request. */
export function connectContextValues(addresses: ClientAddressResolver): NonNullable<ConnectNodeAdapterOptions["contextValues"]> {
  return (req) => {
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const info: CallInfo = {
      authorization: headerValues(req, "authorization"),
      queryToken: query >= 0 && new URLSearchParams(url.slice(query + 1)).has("access_token"),
      source: clientAddress(req, addresses),
      reset: () => resetRequest(req),
    };
    return createContextValues().set(CALL_INFO, info);
  };
}

/** Ends a request's stream at once: RST_STREAM ENHANCE_YOUR_CALM on HTTP/2 (read as RESOURCE_EXHAUSTED), the connection on HTTP/1.1. */
function resetRequest(req: IncomingMessage | Http2ServerRequest): void {
  if ("stream" in req) {
    if (!req.stream.closed) req.stream.close(http2.NGHTTP2_ENHANCE_YOUR_CALM);
  } else {
    req.socket.destroy();
  }
}

/** The call info from connectContextValues; without it (another adapter), what the request headers show. */
function callInfo(ctx: HandlerContext): CallInfo {
  const authorization = ctx.requestHeader.get("authorization");
  return ctx.values.get(CALL_INFO) ?? { authorization: authorization === null ? [] : [authorization] };
}

async function* mappedStream<T>(run: () => AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* run();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** Runs a Connect handler, its Tessera errors mapped to ConnectErrors. */
export async function mapped<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** Registers TokenService and Health on a Connect router (Connect, gRPC-Web and gRPC protocols). */
export function connectRoutes(handlers: TokenServiceHandlers, watch: WatchHandlers, health: HealthState): (router: ConnectRouter) => void {
  const healthImpl = healthHandlers(health);
  return (router) => {
    router.service(TokenService, {
      issueToken: (req, ctx) => mapped(() => handlers.issueToken(req, callInfo(ctx))),
      introspect: (req, ctx) => mapped(() => handlers.introspect(req, callInfo(ctx))),
      getJwks: () => mapped(() => handlers.getJwks()),
      revoke: (req, ctx) => mapped(() => handlers.revoke(req, callInfo(ctx))),
      watchRevocations: (req, ctx) => mappedStream(() => watch.watchRevocations(req, { ...callInfo(ctx), signal: ctx.signal })),
      watchKeys: (req, ctx) => mappedStream(() => watch.watchKeys(req, { ...callInfo(ctx), signal: ctx.signal })),
      exchangeToken: (req, ctx) => mapped(() => handlers.exchangeToken(req, callInfo(ctx))),
    });
    router.service(Health, {
      check: (req) => mapped(() => healthImpl.check(req)),
      list: () => mapped(() => healthImpl.list()),
      watch: (req, ctx) => healthImpl.watch(req, ctx),
    });
  };
}
