export { authServerInterceptor, grpcPrincipal, type GrpcAuthOptions } from "./server.js";
export { tokenClientInterceptor, tokenCallCredentials, type GrpcTokenOptions } from "./client.js";
export { bridgeService, grpcClientConstructor, grpcServiceDefinition, defaultGrpcErrorMapper, type GrpcCallContext, type GrpcServiceImpl, type GrpcErrorMapper } from "./service-bridge.js";
export { authErrorDetail } from "./status-detail.js";
export { refuseRepeatedAuthorization } from "./repeated-authorization.js";
