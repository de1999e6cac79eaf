// tessera/server: the token service, to embed or run, with its configuration, signing keys and
// shared state in Redis. The implementation classes behind these stay internal.
export { createTesseraServer } from "./server/public-server.js";
export type { TesseraServer, SigningKeyOperations } from "./server/public-server.js";
export type { StopOptions, TesseraServerOptions } from "./server/tessera-server.js";
export type { Logger } from "./internal/logger.js";

export { ConfigError } from "./config/config-error.js";
export { DEFAULTS } from "./config/defaults.js";
export { validateConfig } from "./config/validate.js";
export { configSchema } from "./config/schema.js";
export type { EnvOverrides, SecretResolver, ValidateOptions } from "./config/validate.js";
export { loadConfigFile, secretResolver } from "./config/load.js";
export { devModeConfig } from "./server/dev-mode.js";
export { generateClientSecret, hashClientSecret } from "./registry/client-secret.js";
export { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER } from "./config/types.js";
export type {
  TesseraConfig,
  ClientConfig,
  GrantConfig,
  GrantType,
  ClientAuthMethod,
  SigningAlgorithm,
  ListenerConfig,
  TlsConfig,
  TrustedIssuerConfig,
  RedisConfig,
  RedisNodeConfig,
  ParsedConfig,
  ClientVariant,
  ClientCredentialField,
} from "./config/types.js";

export { generateSigningKey, importSigningKey, loadSigningKeyFile } from "./keys/signing-key.js";
export type { SigningKey } from "./keys/signing-key.js";
export { MemoryKeyStore } from "./keys/key-store.js";
export type { KeyStore, KeyState } from "./keys/key-store.js";
export type { KeyEncryptionKey } from "./keys/key-sealing.js";

export { createRedisStore } from "./store/redis/public-store.js";
export type { RedisStore } from "./store/redis/public-store.js";
export type { RedisSource, RedisStoreOptions } from "./store/redis/redis-store.js";
export type { AuthThrottleOptions } from "./store/memory/auth-throttle.js";
export { fastFailOptions } from "./store/redis/redis-client.js";
export type { RedisClient } from "./store/redis/redis-client.js";
export type {
  AuthThrottle,
  DenyList,
  FeedPosition,
  IntrospectionCache,
  IntrospectionCacheKey,
  IntrospectionCacheLookup,
  RateLimiter,
  ReplayGuard,
  RevocationEvent,
  RevocationFeed,
  RevocationSubscriberHooks,
} from "./store/types.js";
