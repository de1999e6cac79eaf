// tessera: the core, shared by both interceptor flavours (./connect, ./grpc),
// the client side (./client) and the token service (./server).
export * from "./errors/index.js";
export type { Clock } from "./internal/clock.js";
export { TokenVerifier, type TokenVerifierOptions, type VerificationKeySource } from "./verifier/token-verifier.js";
export { verifyAccessToken, precheckAccessToken, type VerifyAccessTokenOptions, type VerificationKeyResolver } from "./verifier/verify-access-token.js";
export type { AccessTokenClaims } from "./verifier/access-token-claims.js";
export type { Principal } from "./verifier/principal.js";
export { bearerToken } from "./verifier/bearer-token.js";
export { remoteVerifier, type RemoteVerifierOptions } from "./verifier/remote-verifier.js";
export { RemoteKeySet, type RemoteKeySetOptions, type JwksFetcher } from "./keys/remote-key-set.js";
export { httpJwksFetcher, type HttpJwksFetcherOptions } from "./keys/http-jwks-fetcher.js";
export type { AccessTokenJwsHeader, DecodedJws } from "./keys/jws.js";
export * from "./policy/index.js";
export type { RevocationEvent, RevocationFeed, DenyList, ReplayGuard } from "./store/types.js";
export { MemoryDenyList, MemoryReplayGuard } from "./store/memory/memory-store.js";
export * from "./client.js";
