// tessera/connect: interceptors for Connect (@connectrpc/connect); never loads grpc-js.
export { authContextValues, authInterceptor, protect, principal, principalKey } from "./interceptors/connect/server.js";
export { tokenInterceptor } from "./interceptors/connect/client.js";
export type { TokenInterceptorOptions } from "./interceptors/connect/client.js";
export { jwksFromTokenService } from "./interceptors/connect/jwks-from-token-service.js";
