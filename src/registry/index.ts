export type { RegisteredClient } from "./registered-client.js";
export { registeredClient } from "./registered-client.js";
export { StaticClientRegistry, type ClientRegistry } from "./client-registry.js";
