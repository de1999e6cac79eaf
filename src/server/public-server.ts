// The token service as tessera/server exposes it. createTesseraServer (tessera-server.ts) also hands
// the composition root's internals (the issuer's context, the KeyManager) to tests and the CLI; an
// application gets where the server listens, its revocation feed, the key operations, and stop().
import type { RevocationFeed } from "../store/types.js";
import { createTesseraServer as startTesseraServer, type TesseraServerOptions } from "./tessera-server.js";

/** The operations on the managed signing keys of a running server (what `tessera keys` does). */
export interface SigningKeyOperations {
  /** Publishes a new key now; it starts signing once verifiers had time to fetch it. */
  rotate(): Promise<void>;
  /** Emergency: withdraws the key from JWKS at once and revokes every token it signed. */
  revoke(kid: string): Promise<void>;
}

/** A running Tessera: where it listens, its revocations, and how to stop it. */
export interface TesseraServer {
  /** Base URL of the HTTP listener (Connect, gRPC-Web, OAuth endpoints). */
  readonly httpUrl: string;
  /** host:port of the grpc-js listener. */
  readonly grpcAddress: string;
  /** The `iss` of the tokens it issues. */
  readonly issuer: string;
  /** The revocations this server records, as a feed (e.g. for verifiers in the same process). */
  readonly revocations: RevocationFeed | undefined;
  /** The managed signing keys, unless keys were given or come from signing.keyFile. */
  readonly signingKeys: SigningKeyOperations | undefined;
  /** host:port of the metrics listener (GET /metrics), when config.metrics has it serving. */
  readonly metricsAddress: string | undefined;
  /** Stops the listeners and background work; closes only what the server opened. */
  stop(): Promise<void>;
}

/**
 * Starts the token service in this process: the HTTP listener (OAuth endpoints, Connect, gRPC-Web),
 * the grpc-js listener, and the keys and shared state the configuration names.
 *
 * @example
 * ```ts
 * import { createTesseraServer, loadConfigFile } from "tessera/server";
 *
 * const server = await createTesseraServer({ config: loadConfigFile("tessera.yaml") });
 * console.log(`token endpoint: ${server.httpUrl}/oauth2/token, gRPC on ${server.grpcAddress}`);
 * process.once("SIGTERM", () => void server.stop());
 * ```
 */
export async function createTesseraServer(options: TesseraServerOptions): Promise<TesseraServer> {
  const server = await startTesseraServer(options);
  const { keyManager } = server;
  return {
    httpUrl: server.httpUrl,
    grpcAddress: server.grpcAddress,
    issuer: server.issuer,
    revocations: server.revocations,
    signingKeys: keyManager && { rotate: () => keyManager.rotate(), revoke: (kid) => keyManager.revoke(kid) },
    metricsAddress: server.metricsAddress,
    stop: () => server.stop(),
  };
}
