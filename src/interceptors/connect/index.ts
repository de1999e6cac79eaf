export { authContextValues, authInterceptor, protect, principal, principalKey } from "./server.js";
export { tokenInterceptor, type TokenInterceptorOptions } from "./client.js";
export { jwksFromTokenService } from "./jwks-from-token-service.js";
