/** Documented defaults. Every one of them is safe for a single process on loopback. */
export const DEFAULTS = {
  httpHost: "127.0.0.1",
  httpPort: 8080,
  grpcHost: "127.0.0.1",
  grpcPort: 9090,
  /** The service schema is public (proto/), so reflection reveals nothing; turn it off to answer UNIMPLEMENTED. */
  grpcReflection: true,
  /** RFC 9068 tokens are short-lived: 5 minutes. */
  tokenLifetimeSeconds: 300,
  /** No per-client lifetime may exceed one hour. */
  maxTokenLifetimeSeconds: 3600,
  signingAlgorithm: "ES256",
  /** A managed key signs for a week, and is published an hour before it signs (verifiers cache JWKS for minutes). */
  keyRotationPeriodSeconds: 7 * 86_400,
  keyLeadTimeSeconds: 3600,
  keyCheckIntervalSeconds: 60,
  /** Our own prefix on every Redis key (not ioredis' keyPrefix option). */
  redisKeyPrefix: "tessera:",
  redisWaitReplicas: 0,
  redisWaitTimeoutMs: 500,
  /** Redis operations fail fast: a request waits at most this long before answering 503. */
  redisCommandTimeoutMs: 2000,
  /** Active introspection answers are cached this long at most (and never past the token's exp). */
  introspectionCacheSeconds: 60,
  /** 10 failed authentications per (client, source) within 60 s, then 429 until the window ends. */
  rateLimitFailures: 10,
  rateLimitWindowSeconds: 60,
  /** Per listener: slow or idle connections are closed, and there are at most this many. */
  listenerMaxConnections: 1024,
  listenerHeadersTimeoutMs: 10_000,
  listenerRequestTimeoutMs: 30_000,
  listenerIdleTimeoutMs: 60_000,
  listenerMaxConcurrentStreams: 100,
  listenerMaxHeaderBytes: 16_384,
  /** SIGTERM: not ready and still serving for 5 s, then 10 s for what is in flight. */
  shutdownDrainMs: 5000,
  shutdownGraceMs: 10_000,
} as const;
