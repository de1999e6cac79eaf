export * from "./tessera-error.js";
export { toHttpError, wwwAuthenticate, type HttpErrorResponse } from "./to-http.js";
