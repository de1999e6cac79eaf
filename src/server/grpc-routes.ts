import type { Server } from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { bridgeService, type GrpcCallContext } from "../interceptors/grpc/service-bridge.js";
import { peerAddress } from "../internal/source-address.js";
import { addReflection } from "./grpc-reflection.js";
import { healthHandlers, type HealthState } from "./health.js";
import type { CallInfo, TokenServiceHandlers } from "./token-service-handlers.js";

function callInfo(call: GrpcCallContext): CallInfo {
  const value = call.metadata.get("authorization")[0];
  return { authorization: typeof value === "string" ? value : undefined, source: peerAddress(call.peer) };
}

/** Adds TokenService and Health to a grpc-js server through the protobuf-es bridge, and reflection on both (unless turned off). */
export function addGrpcRoutes(server: Server, handlers: TokenServiceHandlers, health: HealthState, reflection = true): void {
  const token = bridgeService(TokenService, {
    issueToken: (req, call) => handlers.issueToken(req, callInfo(call)),
    introspect: (req, call) => handlers.introspect(req, callInfo(call)),
    getJwks: () => handlers.getJwks(),
    revoke: (req, call) => handlers.revoke(req, callInfo(call)),
  });
  server.addService(token.definition, token.implementation);
  const healthImpl = healthHandlers(health);
  const healthService = bridgeService(Health, {
    check: (req) => healthImpl.check(req),
    list: () => healthImpl.list(),
    watch: (req, call) => healthImpl.watch(req, call),
  });
  server.addService(healthService.definition, healthService.implementation);
  if (reflection) addReflection(server, [TokenService, Health]);
}
