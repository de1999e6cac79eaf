import type { Server } from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { bridgeService, type GrpcCallContext } from "../interceptors/grpc/bridge-service.js";
import { peerAddress, type ClientAddressResolver } from "../internal/source-address.js";
import { healthHandlers, type HealthState } from "./health.js";
import type { CallInfo, TokenServiceHandlers } from "./token-service-handlers.js";

function stringValues(call: GrpcCallContext, name: string): string[] {
  return call.metadata.get(name).filter((v): v is string => typeof v === "string");
}

function callInfo(call: GrpcCallContext, addresses: ClientAddressResolver): CallInfo {
  const peer = peerAddress(call.peer);
  return {
    authorization: stringValues(call, "authorization"),
    source: addresses.enabled ? addresses.resolve(peer, stringValues(call, addresses.header)) : peer,
  };
}

/** Adds TokenService and Health to a grpc-js server through the protobuf-es bridge. */
export function addGrpcRoutes(server: Server, handlers: TokenServiceHandlers, health: HealthState, addresses: ClientAddressResolver): void {
  const info = (call: GrpcCallContext) => callInfo(call, addresses);
  const token = bridgeService(TokenService, {
    issueToken: (req, call) => handlers.issueToken(req, info(call)),
    introspect: (req, call) => handlers.introspect(req, info(call)),
    getJwks: () => handlers.getJwks(),
    revoke: (req, call) => handlers.revoke(req, info(call)),
  });
  server.addService(token.definition, token.implementation);
  const healthImpl = healthHandlers(health);
  const healthService = bridgeService(Health, {
    check: (req) => healthImpl.check(req),
    list: () => healthImpl.list(),
    watch: (req, call) => healthImpl.watch(req, call),
  });
  server.addService(healthService.definition, healthService.implementation);
}

/** The slice of a Node HTTP/2 server that keepRepeatedHeaders needs. */
interface Http2StreamSource {
  prependListener(event: "stream", listener: (stream: unknown, headers: Record<string, unknown>, flags: number, rawHeaders: unknown) => void): unknown;
}

/**
 * Makes grpc-js see every value of the headers named (lower case) when a
 * client sends several: Node's HTTP/2 layer keeps only the first
 * `authorization` in the header object grpc-js builds its metadata from, so
 * that a second credential would pass unseen. A listener that runs before
 * grpc-js's own puts all the values of the raw header list back as an array,
 * which grpc-js turns into metadata entries. Call it after the server is
 * bound. grpc-js has no public hook for this: its servers are read from a
 * private field, and a grpc-js without it refuses to start (fail closed).
 */
export function keepRepeatedHeaders(server: Server, names: readonly string[]): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error("cannot reach grpc-js's HTTP/2 servers to see repeated authorization metadata (has grpc-js changed?)");
  }
  for (const http2Server of servers.keys() as IterableIterator<Http2StreamSource>) {
    http2Server.prependListener("stream", (_stream, headers, _flags, rawHeaders) => {
      if (!Array.isArray(rawHeaders)) return;
      for (const name of names) {
        const values: string[] = [];
        for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
          if (String(rawHeaders[i]).toLowerCase() === name) values.push(String(rawHeaders[i + 1]));
        }
        if (values.length > 1) headers[name] = values;
      }
    });
  }
}
