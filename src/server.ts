// tessera/server: the token service, to embed or run.
export { createTesseraServer, type StopOptions, type TesseraServer, type TesseraServerOptions } from "./server/tessera-server.js";
export * from "./config/index.js";
export { generateSigningKey, importSigningKey, loadSigningKeyFile, type SigningKey } from "./keys/signing-key.js";
export { MemoryKeyStore, type KeyStore, type KeyState } from "./keys/key-store.js";
export * from "./store/redis/index.js";
export type { AuthThrottle, DenyList, IntrospectionCache, IntrospectionCacheKey, IntrospectionCacheLookup, ReplayGuard, RevocationEvent, RevocationFeed } from "./store/types.js";
