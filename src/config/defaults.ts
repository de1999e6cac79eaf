/** Documented defaults. Every one of them is safe for a single process on loopback. */
export const DEFAULTS = {
  httpHost: "127.0.0.1",
  httpPort: 8080,
  grpcHost: "127.0.0.1",
  grpcPort: 9090,
  /** RFC 9068 tokens are short-lived: 5 minutes. */
  tokenLifetimeSeconds: 300,
  /** No per-client lifetime may exceed one hour. */
  maxTokenLifetimeSeconds: 3600,
  signingAlgorithm: "ES256",
} as const;
