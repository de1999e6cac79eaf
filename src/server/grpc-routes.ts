import type { DescService } from "@bufbuild/protobuf";
import type { Server } from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { bridgeService, type GrpcCallContext } from "../interceptors/grpc/bridge-service.js";
import { peerAddress, type ClientAddressResolver } from "../internal/source-address.js";
import { addReflection } from "./grpc-reflection.js";
import { healthHandlers, type HealthState } from "./health.js";
import type { CallInfo, TokenServiceHandlers } from "./token-service-handlers.js";
import type { WatchHandlers } from "./watch-handlers.js";

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

/**
 * Adds TokenService and Health to a grpc-js server through the protobuf-es bridge, and reflection on
 * both and on `otherServices` served beside them (unless turned off).
 */
export function addGrpcRoutes(
  server: Server,
  handlers: TokenServiceHandlers,
  watch: WatchHandlers,
  health: HealthState,
  addresses: ClientAddressResolver,
  reflection = true,
  otherServices: readonly DescService[] = [],
): void {
  const info = (call: GrpcCallContext) => callInfo(call, addresses);
  const streamInfo = (call: GrpcCallContext) => ({ ...callInfo(call, addresses), signal: call.signal, reset: call.reset });
  const token = bridgeService(TokenService, {
    issueToken: (req, call) => handlers.issueToken(req, info(call)),
    introspect: (req, call) => handlers.introspect(req, info(call)),
    getJwks: () => handlers.getJwks(),
    revoke: (req, call) => handlers.revoke(req, info(call)),
    watchRevocations: (req, call) => watch.watchRevocations(req, streamInfo(call)),
    watchKeys: (req, call) => watch.watchKeys(req, streamInfo(call)),
    exchangeToken: (req, call) => handlers.exchangeToken(req, info(call)),
  });
  server.addService(token.definition, token.implementation);
  const healthImpl = healthHandlers(health);
  const healthService = bridgeService(Health, {
    check: (req) => healthImpl.check(req),
    list: () => healthImpl.list(),
    watch: (req, call) => healthImpl.watch(req, call),
  });
  server.addService(healthService.definition, healthService.implementation);
  if (reflection) addReflection(server, [TokenService, Health, ...otherServices]);
}
