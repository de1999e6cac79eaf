// The verifier's transport to the token service's streams: @connectrpc/connect-node
// speaking the Connect protocol (the HTTP listener) or gRPC (the gRPC listener) over
// HTTP/2. Loaded lazily by remoteVerifier, so that `tessera` loads no transport.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { JSONWebKeySet } from "jose";
import {
  ClientCredentialsSchema,
  TokenService,
  type ClientCredentials,
  type Revocation,
  type WatchKeysResponse,
  type WatchRevocationsResponse,
} from "../../gen/tessera/v1/token_service_pb.js";
import { InvalidClientError, UnauthorizedClientError } from "../errors/tessera-error.js";
import { checkedTransportUrl } from "../internal/http-target.js";
import { CLIENT_ASSERTION_TYPE } from "../internal/oauth-syntax.js";
import { clientAuthenticationParts } from "../token-source/client-assertion.js";
import type { WatcherCredentials } from "./watcher-credentials.js";
import type { KeySetUpdate, RevocationBatch, StreamedRevocation, TokenServiceStreams } from "../verifier/revocation-stream.js";

/** Options of tokenServiceStreams. */
export interface TokenServiceStreamsOptions {
  credentials: WatcherCredentials;
  /** The issuer identifier: the `aud` of client assertions. */
  issuer: string;
  /** "connect" (default): the Connect protocol, to the HTTP listener; "grpc": gRPC, to the gRPC listener. Both over HTTP/2. */
  protocol?: "connect" | "grpc";
  /** Allow cleartext HTTP to a host that is not loopback (credentials and keys cross it). Default false. */
  allowInsecure?: boolean;
}

/**
 * WatchRevocations and WatchKeys of the token service at `endpoint`, as the
 * verifier consumes them. Each stream authenticates afresh (a new assertion
 * for the JWT methods) on a connection of its own, closed with the stream:
 * a stream that broke or went silent never leaves a half-dead connection
 * for the next one to wait on. The endpoint must be https, or http to
 * loopback, unless `allowInsecure`.
 */
export function tokenServiceStreams(endpoint: string, options: TokenServiceStreamsOptions): TokenServiceStreams {
  const url = checkedTransportUrl(endpoint, "the token service's streams (client credentials and keys)", options.allowInsecure === true);
  const baseUrl = url.href.replace(/\/$/, "");
  const { clientId, auth } = options.credentials;

  /** Opens one stream on a connection of its own, and closes the connection with it. */
  async function* opened<M>(open: (client: Client<typeof TokenService>) => AsyncIterable<M>): AsyncIterable<M> {
    const sessionManager = new Http2SessionManager(baseUrl);
    const transport =
      options.protocol === "grpc" ? createGrpcTransport({ baseUrl, sessionManager }) : createConnectTransport({ baseUrl, httpVersion: "2", sessionManager });
    try {
      yield* open(createClient(TokenService, transport));
    } catch (err) {
      throw refusal(err) ?? err;
    } finally {
      sessionManager.abort();
    }
  }

  const authenticate = async (): Promise<{ client: ClientCredentials; headers: Record<string, string> }> => {
    const parts = await clientAuthenticationParts(clientId, options.issuer, auth);
    if (parts.kind === "basic") return { client: create(ClientCredentialsSchema), headers: { authorization: parts.authorization } };
    const client =
      parts.kind === "post"
        ? create(ClientCredentialsSchema, { clientId: parts.clientId, clientSecret: parts.clientSecret })
        : create(ClientCredentialsSchema, { clientId: parts.clientId, clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: parts.clientAssertion });
    return { client, headers: {} };
  };

  return {
    endpoint: `${url.protocol}//${url.host}`,
    async *watchRevocations(cursor: string, signal: AbortSignal): AsyncIterable<RevocationBatch> {
      const { client: credentials, headers } = await authenticate();
      yield* opened(async function* (client) {
        for await (const message of client.watchRevocations({ client: credentials, cursor }, { signal, headers })) yield revocationBatch(message);
      });
    },
    async *watchKeys(signal: AbortSignal): AsyncIterable<KeySetUpdate> {
      const { client: credentials, headers } = await authenticate();
      yield* opened(async function* (client) {
        for await (const message of client.watchKeys({ client: credentials }, { signal, headers })) yield keySetUpdate(message);
      });
    },
  };
}

/**
 * The replica refused the watcher (bad credentials, or a client that is not
 * a resource server), in the error model; undefined for any other failure.
 */
function refusal(err: unknown): Error | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  const refused =
    err.code === Code.Unauthenticated ? new InvalidClientError() : err.code === Code.PermissionDenied ? new UnauthorizedClientError(err.rawMessage) : undefined;
  if (refused !== undefined) refused.cause = err;
  return refused;
}

function revocationBatch(message: WatchRevocationsResponse): RevocationBatch {
  return {
    reset: message.reset,
    revocations: message.revocations.flatMap(streamedRevocation),
    synced: message.synced,
    cursor: message.cursor,
    heartbeatIntervalMs: message.heartbeatIntervalMs,
  };
}

/** A Revocation message as the verifier reads it; one of an unknown kind (from a newer server) is skipped. */
function streamedRevocation(revocation: Revocation): StreamedRevocation[] {
  const { kind } = revocation;
  switch (kind.case) {
    case "token":
      return [{ kind: "token", issuer: kind.value.issuer, jti: kind.value.jti, expiresAt: Number(kind.value.expiresAt) }];
    case "key":
      return [{ kind: "key", issuer: kind.value.issuer, kid: kind.value.kid, expiresAt: Number(kind.value.expiresAt) }];
    case "client":
      return [
        {
          kind: "client",
          issuer: kind.value.issuer,
          clientId: kind.value.clientId,
          issuedBefore: Number(kind.value.issuedBefore),
          expiresAt: Number(kind.value.expiresAt),
        },
      ];
    default:
      return [];
  }
}

function keySetUpdate(message: WatchKeysResponse): KeySetUpdate {
  const json = message.jwks?.jwksJson ?? "";
  const jwks = (json === "" ? { keys: [] } : JSON.parse(json)) as JSONWebKeySet;
  if (!Array.isArray(jwks.keys)) throw new Error("WatchKeys answered no key set");
  return { jwks, revokedKids: message.revokedKids, heartbeatIntervalMs: message.heartbeatIntervalMs };
}
