// tessera/grpc: interceptors and the protobuf-es service bridge for @grpc/grpc-js; never loads Connect.
export { authServerInterceptor, grpcPrincipal } from "./interceptors/grpc/server.js";
export { refuseRepeatedAuthorization } from "./interceptors/grpc/repeated-authorization.js";
export type { GrpcAuthOptions } from "./interceptors/grpc/server.js";
export { tokenClientInterceptor, tokenCallCredentials } from "./interceptors/grpc/client.js";
export type { GrpcTokenOptions } from "./interceptors/grpc/client.js";
export { bridgeService, defaultGrpcErrorMapper } from "./interceptors/grpc/bridge-service.js";
export type {
  GrpcCallContext,
  GrpcServiceImpl,
  GrpcUnaryHandler,
  GrpcServerStreamingHandler,
  GrpcErrorMapper,
} from "./interceptors/grpc/bridge-service.js";
export { grpcClientConstructor } from "./interceptors/grpc/service-definition.js";
export type {
  GrpcServiceClient,
  GrpcServiceClientConstructor,
  GrpcClientMethod,
  GrpcUnaryClientMethod,
  GrpcUnaryCallback,
  GrpcServerStreamClientMethod,
} from "./interceptors/grpc/service-definition.js";
export { authErrorDetail } from "./interceptors/grpc/status-detail.js";
