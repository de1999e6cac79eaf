export { authInterceptor, protect, principal, principalKey } from "./server.js";
export { tokenInterceptor, type TokenInterceptorOptions } from "./client.js";
