export { authServerInterceptor, grpcPrincipal, type GrpcAuthOptions } from "./server.js";
export { tokenClientInterceptor, tokenCallCredentials, type GrpcTokenOptions } from "./client.js";
export { bridgeService, defaultGrpcErrorMapper, type GrpcCallContext, type GrpcServiceImpl, type GrpcErrorMapper } from "./bridge-service.js";
export { grpcClientConstructor, grpcServiceDefinition, type GrpcServiceClient, type GrpcServiceClientConstructor, type GrpcUnaryClientMethod, type GrpcServerStreamClientMethod } from "./service-definition.js";
export { authErrorDetail } from "./status-detail.js";
export { refuseRepeatedAuthorization } from "./repeated-authorization.js";
