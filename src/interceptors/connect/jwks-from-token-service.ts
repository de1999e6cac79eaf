import { createClient, type Transport } from "@connectrpc/connect";
import type { JSONWebKeySet } from "jose";
import { TokenService } from "../../../gen/tessera/v1/token_service_pb.js";
import type { JwksFetcher } from "../../keys/remote-key-set.js";

/**
 * A JwksFetcher that reads the keys with tessera.v1.TokenService/GetJwks over
 * any Connect transport (gRPC, Connect, gRPC-Web), for verifiers that reach
 * Tessera over RPC rather than its HTTP JWKS.
 *
 * @example
 * const keys = new RemoteKeySet({ fetch: jwksFromTokenService(createGrpcTransport({ baseUrl: "http://127.0.0.1:9090" })) });
 * const verifier = new TokenVerifier({ issuer, keys });
 */
export function jwksFromTokenService(transport: Transport, options: { timeoutMs?: number } = {}): JwksFetcher {
  const client = createClient(TokenService, transport);
  return async () => {
    const response = await client.getJwks({}, { timeoutMs: options.timeoutMs ?? 5000 });
    const jwks = JSON.parse(response.jwksJson) as JSONWebKeySet;
    if (!Array.isArray(jwks.keys)) throw new Error("GetJwks answered no key set");
    return jwks;
  };
}
